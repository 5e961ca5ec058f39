"""The built-in lines of business, each a mapping file in this package (`<name>.yaml`, with
`<name>_hooks.py` when it needs hooks), registered by entry points in pyproject.toml."""

from __future__ import annotations

from importlib.resources import files

from catalog_gateway.transformers.mapping import MappingTransformer, load_mapping


def exec_ed_product_api() -> MappingTransformer:
    """`exec-ed-product-api`: executive-education partners' product API."""
    return _load("exec_ed_product_api")


def discovery_csv() -> MappingTransformer:
    """`discovery-csv`: the course spreadsheet, rows grouped per product."""
    return _load("discovery_csv")


def degree_csv() -> MappingTransformer:
    """`degree-csv`: the degree spreadsheet, one row per degree."""
    return _load("degree_csv")


def _load(module_name: str) -> MappingTransformer:
    return load_mapping(files(__name__) / f"{module_name}.yaml")
