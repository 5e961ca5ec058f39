"""One lookup per key at a time (`api.single_flight`): requests that arrive together with a key
the process has not cached yet — a flood starting, or a cached key expiring in the middle of
one — wait for the same lookup instead of each reading the database; an error of that lookup is
every waiter's answer, and a waiter that gives up does not cancel it for the others."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from catalog_gateway.api import dependencies
from catalog_gateway.api.single_flight import SingleFlight
from tests.factories import bearer
from tests.gateway.conftest import Keys

REQUESTS = 20


def _held_lookups(
    monkeypatch: pytest.MonkeyPatch, *, fail: bool = False
) -> tuple[list[str], threading.Event]:
    """`_lookup` counted, and held until the returned event is set."""
    calls: list[str] = []
    release = threading.Event()
    real = dependencies._lookup

    def lookup(*args: Any) -> Any:
        calls.append(args[-1])
        assert release.wait(timeout=30)
        if fail:
            raise OperationalError("SELECT", {}, Exception("connection lost"))
        return real(*args)

    monkeypatch.setattr(dependencies, "_lookup", lookup)
    return calls, release


async def _together(app: FastAPI, key: str, release: threading.Event) -> list[httpx.Response]:
    """REQUESTS reads with `key` at once; the lookup is let go once all of them wait on it."""
    lookups: SingleFlight[str, Any] = app.state.lookups
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        sent = [
            asyncio.create_task(client.get("/api/v1/events", headers=bearer(key)))
            for _ in range(REQUESTS)
        ]
        flight = (key, app.state.principals.generation)
        for _ in range(1000):
            if lookups.waiting(flight) == REQUESTS:
                break
            await asyncio.sleep(0.005)
        assert lookups.waiting(flight) == REQUESTS
        release.set()
        return await asyncio.gather(*sent)


def test_requests_arriving_together_with_an_uncached_key_share_one_lookup(
    app: FastAPI, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, release = _held_lookups(monkeypatch)

    answers = asyncio.run(_together(app, keys.exec_ed, release))

    assert [answer.status_code for answer in answers] == [200] * REQUESTS
    assert calls == [keys.exec_ed]


def test_a_failed_lookup_is_the_answer_of_every_request_waiting_for_it(
    app: FastAPI, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, release = _held_lookups(monkeypatch, fail=True)

    answers = asyncio.run(_together(app, keys.exec_ed, release))

    assert {answer.status_code for answer in answers} == {503}
    assert {answer.json()["code"] for answer in answers} == {"catalog_unavailable"}
    assert calls == [keys.exec_ed]  # read again only when the connection was reported lost


def test_a_waiter_giving_up_does_not_cancel_the_lookup_for_the_others() -> None:
    async def scenario() -> tuple[str, bool]:
        flights: SingleFlight[str, str] = SingleFlight()
        gate = asyncio.Event()

        async def lookup() -> str:
            await gate.wait()
            return "found"

        first = asyncio.create_task(flights.run("k", lookup))
        second = asyncio.create_task(flights.run("k", lookup))
        await asyncio.sleep(0)
        first.cancel()
        gate.set()
        answer = await second
        return answer, first.cancelled()

    assert asyncio.run(scenario()) == ("found", True)


def test_a_request_after_a_revocation_does_not_join_a_lookup_that_began_before_it(
    app: FastAPI, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, release = _held_lookups(monkeypatch)
    lookups: SingleFlight[tuple[str, int], Any] = app.state.lookups

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            before = (keys.exec_ed, app.state.principals.generation)
            first = asyncio.create_task(client.get("/api/v1/events", headers=bearer(keys.exec_ed)))
            while lookups.waiting(before) != 1:
                await asyncio.sleep(0.005)
            app.state.principals.clear()  # what a revocation (or a missed announcement) does
            after = (keys.exec_ed, app.state.principals.generation)
            second = asyncio.create_task(client.get("/api/v1/events", headers=bearer(keys.exec_ed)))
            while lookups.waiting(after) != 1:
                await asyncio.sleep(0.005)
            release.set()
            return [response.status_code for response in await asyncio.gather(first, second)]

    assert asyncio.run(scenario()) == [200, 200]
    assert calls == [keys.exec_ed, keys.exec_ed]  # the second request looked the key up again
