"""Event ids derived from content and time, and the time a file's events happened."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalog_gateway.events.envelope import EVENT_ID_PATTERN
from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.identity import (
    content_event_id,
    events_from_records,
    file_occurred_at,
)
from catalog_gateway.ingest.readers import SourceRecord

UPSERT = EventType.PRODUCT_UPSERT
T0 = datetime(2026, 11, 28, 10, tzinfo=UTC)
PAYLOAD = {"course": {"external_id": "xe-1", "title": "Data Science"}}


def record(
    payload: dict[str, object],
    where: str,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> SourceRecord:
    """A record of a product.upsert payload (an envelope's when an id or time is given)."""
    return SourceRecord(payload, UPSERT, where, event_id=event_id, occurred_at=occurred_at)


def test_the_same_content_always_gets_the_same_valid_event_id() -> None:
    event_id = content_event_id("exec-ed", UPSERT, T0, PAYLOAD)

    assert event_id == content_event_id("exec-ed", UPSERT, T0, dict(reversed(PAYLOAD.items())))
    assert re.fullmatch(r"ingest-[0-9a-f]{40}", event_id)
    assert re.fullmatch(EVENT_ID_PATTERN, event_id)


def test_source_type_time_and_payload_each_change_the_event_id() -> None:
    ids = {
        content_event_id("exec-ed", UPSERT, T0, PAYLOAD),
        content_event_id("bootcamps", UPSERT, T0, PAYLOAD),
        content_event_id("exec-ed", EventType.COURSE_UPSERT, T0, PAYLOAD),
        content_event_id("exec-ed", UPSERT, T0 + timedelta(microseconds=1), PAYLOAD),
        content_event_id("exec-ed", UPSERT, T0, {"course": {"external_id": "xe-2"}}),
    }

    assert len(ids) == 5


def test_events_take_the_file_time_and_a_content_id_in_file_order() -> None:
    records = [record({"n": 1}, "line 1"), record({"n": 2}, "line 2")]

    events = events_from_records(records, "exec-ed", T0)

    assert [(e.where, e.occurred_at, e.payload) for e in events] == [
        ("line 1", T0, {"n": 1}),
        ("line 2", T0, {"n": 2}),
    ]
    assert events[0].event_id == content_event_id("exec-ed", UPSERT, T0, {"n": 1})
    assert events[0].envelope() == {
        "event_id": events[0].event_id,
        "event_type": "product.upsert",
        "occurred_at": "2026-11-28T10:00:00Z",
        "payload": {"n": 1},
    }


def test_a_payload_written_twice_is_one_event_located_at_both_lines() -> None:
    records = [record({"n": 1}, "line 1"), record({"n": 2}, "line 2"), record({"n": 1}, "line 3")]

    events = events_from_records(records, "exec-ed", T0)

    assert [e.where for e in events] == ["line 1, line 3", "line 2"]


def test_an_envelope_keeps_its_own_id_and_time() -> None:
    own_time = T0 - timedelta(days=1)
    records = [record({"n": 1}, "item 1", event_id="lob-1", occurred_at=own_time)]

    (event,) = events_from_records(records, "exec-ed", T0)

    assert (event.event_id, event.occurred_at) == ("lob-1", own_time)


def test_the_file_time_is_its_modification_time_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text("{}\n")
    os.utime(path, (T0.timestamp(), T0.timestamp()))

    assert file_occurred_at(path) == T0
