"""Transformers: a source's own data shape → the canonical payload, with provenance."""

from catalog_gateway.transformers.base import Provenance, Transformer, TransformResult

__all__ = ["Provenance", "TransformResult", "Transformer"]
