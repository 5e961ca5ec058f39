"""Transformers by name, discovered through the `catalog_gateway.transformers` entry points.

A package adds a transformer by declaring, in its `pyproject.toml`:

    [project.entry-points."catalog_gateway.transformers"]
    my-lob = "my_package.transformer:MyLobTransformer"
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from catalog_gateway.errors import ErrorCode, NotFoundError
from catalog_gateway.transformers.base import Transformer

ENTRY_POINT_GROUP = "catalog_gateway.transformers"


@cache
def available_transformers() -> dict[str, str]:
    """Transformer names → the object path they load from."""
    return {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}


@cache
def get_transformer(name: str) -> Transformer:
    """The transformer registered as `name` (loaded once per process)."""
    points = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in points:
        known = ", ".join(sorted(points)) or "none"
        raise NotFoundError(
            f"no transformer {name!r} is installed; installed: {known}",
            code=ErrorCode.UNKNOWN_TRANSFORMER,
        )
    factory = points[name].load()
    transformer = factory()
    if not isinstance(transformer, Transformer):
        raise TypeError(f"entry point {name!r} does not produce a Transformer")
    return transformer
