"""`MappingTransformer`: a transformer whose rules come from a mapping file."""

from __future__ import annotations

from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.events.payloads import payload_schema
from catalog_gateway.events.results import EventIssue
from catalog_gateway.events.types import EventType
from catalog_gateway.transformers.base import Provenance, TransformResult
from catalog_gateway.transformers.mapping.compiler import EventRules
from catalog_gateway.transformers.mapping.run import STEP, Run, Scope


class MappingTransformer:
    """Maps each event type it knows with the rules compiled from its mapping file."""

    def __init__(self, *, name: str, description: str, origin: str, rules: EventRules) -> None:
        self.name = name
        self.description = description
        self.origin = origin
        self._rules = rules

    @property
    def event_types(self) -> tuple[EventType, ...]:
        """The event types this transformer handles, in the catalog's order."""
        return tuple(event_type for event_type in EventType if event_type in self._rules)

    @property
    def mapped_event_types(self) -> tuple[EventType, ...]:
        """The event types it maps (the others it takes in the canonical shape)."""
        return tuple(t for t in self.event_types if self._rules[t] is not None)

    def transform(self, event_type: EventType, raw: dict[str, Any]) -> TransformResult:
        """The canonical payload for `raw`, with provenance, errors and warnings."""
        if event_type not in self._rules:
            return TransformResult(
                payload=None,
                provenance=Provenance(),
                errors=[
                    EventIssue(
                        code=ErrorCode.TRANSFORM_FAILED,
                        message=f"transformer {self.name} does not handle {event_type.value}",
                        step=STEP,
                    )
                ],
            )
        rules = self._rules[event_type]
        if rules is None:
            return TransformResult(payload=raw, provenance=Provenance.same_shape())
        run = Run(root=raw)
        payload = rules.build(Scope(item=raw, pointer=""), "", run)
        return TransformResult(
            payload=payload, provenance=run.provenance, errors=run.errors, warnings=run.warnings
        )

    def input_schema(self, event_type: EventType) -> dict[str, Any] | None:
        """The canonical schema for event types taken as is; mapped ones declare none."""
        if event_type in self._rules and self._rules[event_type] is None:
            return payload_schema(event_type)
        return None

    def __repr__(self) -> str:
        return f"<MappingTransformer {self.name} from {self.origin}>"
