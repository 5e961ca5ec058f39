"""The envelope every event arrives in."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from catalog_gateway.events.types import EventType

EVENT_ID_PATTERN = r"^[\x21-\x7e]{1,128}$"


class Envelope(BaseModel):
    """One change a source announces; the payload is in the source's own shape."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        pattern=EVENT_ID_PATTERN,
        description="1 to 128 printable ASCII characters, unique per source: the idempotency key.",
        examples=["lob-123-0001"],
    )
    event_type: EventType
    occurred_at: AwareDatetime = Field(
        description="When the change happened at the source (RFC 3339 with an offset). "
        "An event older than the last one applied to its product is refused as stale.",
        examples=["2026-11-28T10:00:00Z"],
    )
    payload: dict[str, Any] = Field(description="The change, in the source's own shape.")
