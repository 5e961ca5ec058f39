"""The transformer interface and the provenance every transformer records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from catalog_gateway.events.results import EventIssue
from catalog_gateway.events.types import EventType


@dataclass(slots=True)
class Provenance:
    """Where each canonical field came from: canonical JSON Pointer → source JSON Pointer.

    A pointer with no entry of its own takes its nearest mapped ancestor's source, so an error
    deep inside a mapped object still names the source object it came from.
    """

    sources: dict[str, str] = field(default_factory=dict)
    identity: bool = False

    def record(self, canonical_path: str, source_path: str) -> None:
        """Note that `canonical_path` was built from `source_path`."""
        self.sources[canonical_path] = source_path

    def source_path(self, canonical_path: str | None) -> str | None:
        """The source pointer for a canonical pointer, or None if nothing is known."""
        if canonical_path is None:
            return None
        if self.identity:
            return canonical_path
        probe = canonical_path
        while True:
            if probe in self.sources:
                return self.sources[probe]
            if not probe:
                return None
            probe = probe.rsplit("/", 1)[0]

    @classmethod
    def same_shape(cls) -> Provenance:
        """Provenance of a payload that the source sent in the canonical shape."""
        return cls(identity=True)


@dataclass(slots=True)
class TransformResult:
    """A canonical payload (None if none could be made), its provenance, and what went wrong.

    Errors here are field problems found while mapping; validation still runs on the payload,
    so the answer lists every problem at once. Their `step` is `transform`.
    """

    payload: dict[str, Any] | None
    provenance: Provenance
    errors: list[EventIssue] = field(default_factory=list)
    warnings: list[EventIssue] = field(default_factory=list)


@runtime_checkable
class Transformer(Protocol):
    """Maps one source's payloads to canonical payloads. Must not do I/O."""

    name: str

    def transform(self, event_type: EventType, raw: dict[str, Any]) -> TransformResult:
        """The canonical payload for `raw`, an event of `event_type` in the source's shape."""
        ...

    def input_schema(self, event_type: EventType) -> dict[str, Any] | None:
        """The JSON Schema of the source's own payload for `event_type`, if declared."""
        ...
