"""The envelope every event arrives in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from catalog_gateway.events.types import EventType

EVENT_ID_PATTERN = r"^[\x21-\x7e]{1,128}$"
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True, slots=True)
class Clock:
    """The server's time, and how far ahead of it a source's clock may be."""

    now: datetime
    max_skew: timedelta


def _rfc3339(value: Any) -> Any:
    """Only an RFC 3339 string with an offset: no epoch numbers, no local times."""
    if isinstance(value, datetime):  # built in process (replay), not parsed from a body
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError(
            "invalid_date",
            "must be an RFC 3339 date-time with an offset, such as 2026-11-28T10:00:00Z",
        )
    return value


class Envelope(BaseModel):
    """One change a source announces; the payload is in the source's own shape."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        pattern=EVENT_ID_PATTERN,
        description="1 to 128 printable ASCII characters, unique per source: the idempotency key.",
        examples=["lob-123-0001"],
    )
    event_type: EventType
    occurred_at: Annotated[AwareDatetime, BeforeValidator(_rfc3339)] = Field(
        description="When the change happened at the source (RFC 3339 with an offset), at most "
        "`max_clock_skew_seconds` ahead of the server's clock. An event older than the last "
        "one applied to its product is refused as stale.",
        examples=["2026-11-28T10:00:00Z"],
    )
    payload: dict[str, Any] = Field(description="The change, in the source's own shape.")

    @field_validator("occurred_at")
    @classmethod
    def _not_ahead_of_the_clock(cls, value: datetime, info: ValidationInfo) -> datetime:
        clock = info.context.get("clock") if isinstance(info.context, dict) else None
        if isinstance(clock, Clock) and value > clock.now + clock.max_skew:
            raise PydanticCustomError(
                "invalid_date",
                "is later than the server's clock ({now}) by more than the {skew} s allowed: "
                "send the time the change happened",
                {
                    "now": clock.now.isoformat(timespec="seconds"),
                    "skew": int(clock.max_skew.total_seconds()),
                },
            )
        return value

    @classmethod
    def parse(cls, document: Any, clock: Clock) -> Envelope:
        """The envelope in `document`, checked against the server's `clock`."""
        return cls.model_validate(document, context={"clock": clock})
