"""The client's waiting and retrying, against a scripted transport: connection errors,
`Retry-After`, batches split to fit, and replayed answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.answers import Answer, Reply
from catalog_gateway.ingest.client import (
    GatewayClient,
    GatewayUnavailableError,
    RetryPolicy,
    SplitNeeded,
)
from catalog_gateway.ingest.identity import events_from_records
from catalog_gateway.ingest.readers import SourceRecord
from catalog_gateway.ingest.sender import Sender
from tests.gateway.payloads import T0

FAST = RetryPolicy(connection_attempts=3, first_backoff_seconds=0.01, max_backoff_seconds=0.02)
Handler = Callable[[httpx.Request], httpx.Response]


def envelopes(count: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e-{n}",
            "event_type": "product.upsert",
            "occurred_at": "2026-11-28T10:00:00Z",
            "payload": {"n": n},
        }
        for n in range(count)
    ]


def answered(request: httpx.Request, **changes: Any) -> httpx.Response:
    """The batch answer: every event applied (with `changes` to each answer)."""
    events = json.loads(request.content)["events"]
    results = [
        {
            "event_id": event["event_id"],
            "event_type": event["event_type"],
            "source": "exec-ed",
            "status": "applied",
        }
        | changes
        for event in events
    ]
    return httpx.Response(
        200,
        json={"results": results, "summary": {}},
        headers={"RateLimit-Policy": '"events";q=3;w=1'},
    )


def client(handler: Handler) -> GatewayClient:
    return GatewayClient(
        "http://gateway.test", "key", policy=FAST, transport=httpx.MockTransport(handler)
    )


def test_connection_errors_are_retried_until_the_gateway_answers() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return answered(request)

    async def send() -> list[Reply] | SplitNeeded:
        async with client(handler) as gateway:
            return await gateway.post_batch(envelopes(2))

    replies = asyncio.run(send())

    assert len(calls) == 3
    assert isinstance(replies, list)
    assert [reply.status for reply in replies] == ["applied", "applied"]


def test_an_unreachable_gateway_is_given_up_after_the_attempts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def send() -> None:
        async with client(handler) as gateway:
            await gateway.post_batch(envelopes(1))

    with pytest.raises(GatewayUnavailableError, match=r"cannot reach the gateway .* 3 attempts"):
        asyncio.run(send())


def test_a_shed_request_is_sent_again_after_retry_after() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(
                503,
                json={"status": 503, "code": "overloaded", "detail": "at capacity"},
                headers={"Retry-After": "0", "content-type": "application/problem+json"},
            )
        return answered(request)

    async def send() -> list[Reply] | SplitNeeded:
        async with client(handler) as gateway:
            return await gateway.post_batch(envelopes(1))

    replies = asyncio.run(send())

    assert len(calls) == 2
    assert isinstance(replies, list)
    assert replies[0].status == "applied"


def test_a_batch_larger_than_the_rate_window_is_split_to_the_quota() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        size = len(json.loads(request.content)["events"])
        sizes.append(size)
        if size > 3:
            return httpx.Response(
                429,
                json={"status": 429, "code": "throttled", "detail": "over its rate limit"},
                headers={
                    "content-type": "application/problem+json",
                    "RateLimit-Policy": '"events";q=3;w=1',
                    "Retry-After": "1",
                },
            )
        return answered(request)

    records = [SourceRecord({"n": n}, EventType.PRODUCT_UPSERT, f"line {n}") for n in range(7)]
    events = events_from_records(records, "exec-ed", T0)

    async def send() -> list[str]:
        async with client(handler) as gateway:
            deliveries = await Sender(gateway, "exec-ed", concurrency=1).send(events)
        return [delivery.reply.status for delivery in deliveries if delivery.reply]

    statuses = asyncio.run(send())

    assert statuses == ["applied"] * 7
    assert sizes == [7, 3, 3, 1]


def test_an_answer_for_another_source_stops_the_run() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return answered(request, source="bootcamps")

    records = [SourceRecord({"n": 1}, EventType.PRODUCT_UPSERT, "line 1")]
    events = events_from_records(records, "exec-ed", T0)

    async def send() -> tuple[str | None, str]:
        async with client(handler) as gateway:
            sender = Sender(gateway, "exec-ed")
            (delivery,) = await sender.send(events)
        assert delivery.reply is not None
        return sender.aborted, delivery.reply.status

    aborted, status = asyncio.run(send())

    assert aborted is not None
    assert "answered for source bootcamps, not exec-ed" in aborted
    assert status == "failed"


def test_a_replayed_success_counts_as_unchanged_for_the_run() -> None:
    def answer(status: str, *, replayed: bool) -> Answer:
        return Answer(
            event_id="e-1",
            event_type="product.upsert",
            source="exec-ed",
            status=status,
            replayed=replayed,
        )

    assert Reply(answer("applied", replayed=True)).status == "unchanged"
    assert Reply(answer("rejected", replayed=True)).status == "rejected"
    assert Reply(answer("applied", replayed=False)).status == "applied"
    assert Reply.failed("not sent: the gateway is unreachable").status == "failed"
