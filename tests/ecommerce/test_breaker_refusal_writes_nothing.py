"""A resend refused by the open ecommerce breaker leaves the event record as it was (issue 11,
R11): the 503 `downstream_unavailable` rolls back the transaction that claimed the event, so the
record keeps its attempts, its `failed` status and `retryable: true`."""

from __future__ import annotations

from sqlalchemy import select

from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from tests.ecommerce.payloads import envelope, product_payload
from tests.ecommerce.server import Ecommerce
from tests.ecommerce.support import Gateway

PROBLEM_JSON = "application/problem+json"


def stored(database: Database, event_id: str) -> dict[str, object]:
    """The event record's columns, as the database holds them."""
    with database.read() as session:
        record = session.scalar(select(EventRecord).where(EventRecord.event_id == event_id))
        assert record is not None
        return {column.key: getattr(record, column.key) for column in EventRecord.__table__.columns}


def test_a_resend_refused_by_the_open_breaker_leaves_the_failed_record_unchanged(
    gateway: Gateway, ecommerce: Ecommerce, database: Database
) -> None:
    ecommerce.fault(status=500)
    failed = gateway.send(envelope("evt-trip", product_payload()))
    assert failed.status_code == 502, failed.text
    assert (failed.json()["status"], failed.json()["retryable"]) == ("failed", True)
    before_http = gateway.event("evt-trip").json()
    before_row = stored(database, "evt-trip")
    assert (before_row["attempts"], before_row["status"], before_row["retryable"]) == (
        1,
        "failed",
        True,
    )

    refused = gateway.send(envelope("evt-trip", product_payload()))

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["code"] == "downstream_unavailable"
    after_row = stored(database, "evt-trip")
    assert (after_row["attempts"], after_row["status"], after_row["retryable"]) == (
        1,
        "failed",
        True,
    )
    assert after_row == before_row
    assert gateway.event("evt-trip").json() == before_http
