"""The `canonical` transformer: for sources that already send the canonical shape."""

from __future__ import annotations

from typing import Any

from catalog_gateway.events.payloads import payload_schema
from catalog_gateway.events.types import EventType
from catalog_gateway.transformers.base import Provenance, TransformResult


class CanonicalTransformer:
    """Passes the payload through; every field's source path is its canonical path."""

    name = "canonical"

    def transform(self, event_type: EventType, raw: dict[str, Any]) -> TransformResult:
        return TransformResult(payload=raw, provenance=Provenance.same_shape())

    def input_schema(self, event_type: EventType) -> dict[str, Any] | None:
        return payload_schema(event_type)
