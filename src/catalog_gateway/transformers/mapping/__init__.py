"""Declarative transformers: a YAML mapping file instead of Python code (docs/transformers.md).

transformer = load_mapping(Path("bootcamps.yaml"))
result = transformer.transform(EventType.PRODUCT_UPSERT, raw)
"""

from catalog_gateway.transformers.mapping.errors import MappingFileError
from catalog_gateway.transformers.mapping.hooks import HookContext
from catalog_gateway.transformers.mapping.loader import load_mapping, parse_mapping
from catalog_gateway.transformers.mapping.transformer import MappingTransformer

__all__ = [
    "HookContext",
    "MappingFileError",
    "MappingTransformer",
    "load_mapping",
    "parse_mapping",
]
