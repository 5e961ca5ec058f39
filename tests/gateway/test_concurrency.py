"""Concurrent requests against a real server: one product, one event, never applied twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from catalog_gateway.api.app import create_app
from catalog_gateway.catalog.models import Course, CourseRun, Instructor, Seat
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import Settings
from tests.factories import bearer, url_of
from tests.gateway.conftest import Api, served
from tests.gateway.payloads import COURSE_KEY, RUN_KEYS, envelope, occurred, product_payload


def poster(
    live_url: str, api_key: str, barrier: threading.Barrier
) -> Callable[..., httpx.Response]:
    """POST an event from its own connection, all threads released at the same instant."""

    def post(event: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=live_url, timeout=60) as client:
            barrier.wait(timeout=30)
            return client.post("/api/v1/events", json=event, headers=bearer(api_key))

    return post


def test_concurrent_events_for_the_same_product_all_apply_once(api: Api, live_url: str) -> None:
    titles = [f"Data Science for Leaders, edition {n}" for n in range(8)]
    events = [envelope(f"edition-{n}", product_payload(title=t)) for n, t in enumerate(titles)]
    post = poster(live_url, api.keys.exec_ed, threading.Barrier(len(events)))

    with ThreadPoolExecutor(len(events)) as pool:
        responses = list(pool.map(post, events))

    failures = [(r.status_code, r.text) for r in responses if r.status_code != 200]
    assert failures == []
    # Each event changes the title the catalog holds, whatever order they are applied in.
    assert [r.json()["status"] for r in responses] == ["applied"] * len(events)
    assert api.count(Course) == 1
    assert api.count(CourseRun) == 2
    assert api.count(Seat) == 2
    assert api.count(Instructor) == 3
    course = api.course()
    assert course is not None
    assert course["title"] in titles
    assert sorted(run["key"] for run in course["course_runs"]) == sorted(RUN_KEYS)
    records = api.event_log()
    assert sorted(r["event_id"] for r in records) == sorted(e["event_id"] for e in events)
    assert [(r["status"], r["attempts"]) for r in records] == [("applied", 1)] * len(events)


def test_the_same_event_sent_twice_at_once_is_applied_once(api: Api, live_url: str) -> None:
    for round_ in range(3):
        event_id = f"twice-{round_}"
        event = envelope(
            event_id, product_payload(title=f"Round {round_}"), occurred_at=occurred(round_)
        )
        post = poster(live_url, api.keys.exec_ed, threading.Barrier(2))

        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(post, [event, event]))

        fresh = [
            r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers
        ]
        assert len(fresh) == 1, [(r.status_code, r.headers, r.text) for r in responses]
        assert fresh[0].json()["status"] == "applied"
        [other] = [r for r in responses if r is not fresh[0]]
        if other.status_code == 200:
            assert other.headers["Idempotent-Replayed"] == "true"
            assert other.json() == {**fresh[0].json(), "replayed": True}
        else:
            assert other.status_code == 409, other.text
            answer = other.json()
            assert answer["status"] == "conflict"
            assert [e["code"] for e in answer["errors"]] == ["event_in_progress"]
            assert answer["retryable"] is True
        record = api.event(event_id)
        assert (record["status"], record["attempts"]) == ("applied", 1)
        assert (api.course() or {})["title"] == f"Round {round_}"

    assert api.count(Course) == 1
    assert api.count(EventRecord) == 3
    assert (api.course(COURSE_KEY) or {})["source"] == "exec-ed"


def test_more_concurrent_events_than_pooled_connections_are_never_a_500(api: Api) -> None:
    """A small pool (an allowed setting) must make requests wait or be shed, never fail.

    The pool's wait is shortened from SQLAlchemy's 30 s to 5 s so that a request stuck on the
    pool shows within seconds; ten short events need far less than that when served in turn.
    """
    settings = Settings(database_url=url_of(api.database), database_pool_size=2)
    app = create_app(settings)  # its own engines, sized by the settings
    database = app.state.database
    for engine in {database.reader, database.writer}:
        engine.pool._timeout = 5.0
    events = [
        envelope(f"small-pool-{n}", product_payload(title=f"Edition {n}"), occurred_at=occurred())
        for n in range(10)
    ]

    with served(app) as url:
        post = poster(url, api.keys.exec_ed, threading.Barrier(len(events)))
        with ThreadPoolExecutor(len(events)) as pool:
            responses = list(pool.map(post, events))

    # Which requests wait and which are shed depends on timing; each is exactly one of these.
    applied = (200, "applied", None)
    shed = (503, "overloaded", "1")
    outcomes = [_outcome(response) for response in responses]
    assert set(outcomes) <= {applied, shed}, outcomes
    assert applied in outcomes, outcomes
    assert api.count(Course) == 1


def _outcome(response: httpx.Response) -> tuple[int, str, str | None]:
    """HTTP status, the answer's status or the problem's code, and Retry-After."""
    body = response.json()
    return (
        response.status_code,
        body.get("code", body["status"]),
        response.headers.get("Retry-After"),
    )
