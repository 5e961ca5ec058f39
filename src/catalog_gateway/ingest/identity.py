"""Events from records: ids derived from content, and when the change happened.

An event id is `ingest-` + the SHA-256 of (source, event type, occurred_at, payload), so
sending the same file again sends the same ids and the gateway answers each with its stored
answer. `occurred_at` is the file's modification time: the snapshot's time. It is part of the
id so that a product changed and later changed back by a newer file gets a new event (with the
old id the gateway would replay the first answer and apply nothing).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.readers import SourceRecord

ID_PREFIX = "ingest-"
DIGEST_LENGTH = 40  # hex digits: 160 bits; ids stay short (47 characters) and never collide


@dataclass(frozen=True, slots=True)
class Event:
    """One event to send, and the record(s) of the file it stands for."""

    event_id: str
    event_type: EventType
    occurred_at: datetime
    payload: dict[str, Any]
    records: tuple[SourceRecord, ...]

    @property
    def where(self) -> str:
        """Where in the file: `line 3`, or `line 3, line 9` for a payload written twice."""
        return ", ".join(record.where for record in self.records)

    def locate(self, source_path: str | None) -> str:
        """Where in the file a source path of this event's payload points."""
        return self.records[0].locate(source_path)

    def envelope(self) -> dict[str, Any]:
        """The envelope sent to the gateway."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type.value,
            "occurred_at": rfc3339(self.occurred_at),
            "payload": self.payload,
        }


def file_occurred_at(path: Path) -> datetime:
    """The file's modification time, in UTC."""
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def content_event_id(
    source: str, event_type: EventType, occurred_at: datetime, payload: dict[str, Any]
) -> str:
    """`ingest-<hex>`: the same source, type, time and payload always give the same id."""
    material = canonical_json([source, event_type.value, rfc3339(occurred_at), payload])
    return ID_PREFIX + hashlib.sha256(material.encode()).hexdigest()[:DIGEST_LENGTH]


def events_from_records(
    records: list[SourceRecord], source: str, occurred_at: datetime
) -> list[Event]:
    """One event per distinct envelope, in file order. A record identical to an earlier one
    (same id, type, time and payload) joins that event instead of being sent twice."""
    events: dict[str, Event] = {}
    for record in records:
        moment = record.occurred_at or occurred_at
        event_id = record.event_id or content_event_id(
            source, record.event_type, moment, record.payload
        )
        event = Event(event_id, record.event_type, moment, record.payload, (record,))
        identity = canonical_json(event.envelope())
        if identity in events:
            earlier = events[identity]
            event = Event(
                earlier.event_id,
                earlier.event_type,
                earlier.occurred_at,
                earlier.payload,
                (*earlier.records, record),
            )
        events[identity] = event
    return list(events.values())


def canonical_json(value: Any) -> str:
    """Key order and spacing fixed, so equal data always gives equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rfc3339(moment: datetime) -> str:
    """`2026-11-28T10:00:00.123456Z` (UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
