"""Rate limits shared by several server processes through the real Redis (issue 5 point 1).

Two real `catalog-gateway serve` processes on one SQLite file:
- with `CATALOG_GATEWAY_REDIS_URL`, a source limited to 10/second (burst 10) gets 10 events in
  total, whichever process answers them; the 11th, to either, is 429;
- without it, each process counts in its own memory: in-process storage is per process, so
  behind a load balancer of N processes a source gets up to N times its limit. That is the
  documented default (zero set-up); production sets the Redis URL.

Redis: `redis://127.0.0.1:6379/15` (override with `CATALOG_GATEWAY_TEST_REDIS_URL`); skipped when
unreachable, except in CI (`CI=true`), where it must be there. Only this module's keys are
deleted (they all contain its unique source slugs); nothing else in Redis is touched.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import upgrade
from tests.factories import bearer, url_of
from tests.protection.conftest import add_source, instructor_event, policy_of, state_of
from tests.servers import (
    redis_client,
    require_redis,
    start_gateway,
    stop_gateway,
    wait_until_answering,
)

STARTUP_SECONDS = 30


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The test Redis; skipped when unreachable, except in CI."""
    return require_redis()


@pytest.fixture
def slugs(redis_url: str) -> Iterator[tuple[str, str]]:
    """(limited source, warm-up source): unique slugs; their Redis keys deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    names = (f"shared-{tag}", f"warmup-{tag}")
    yield names
    client = redis_client()
    try:
        for name in names:
            for key in client.scan_iter(match=f"*{name}*"):
                client.delete(key)
    finally:
        client.close()


@pytest.fixture
def database_file(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite file both server processes share."""
    database = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    upgrade(database)
    yield database
    database.dispose()


def _server_env(database: Database, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_GATEWAY_")}
    env["CATALOG_GATEWAY_DATABASE_URL"] = url_of(database)
    if redis_url is not None:
        env["CATALOG_GATEWAY_REDIS_URL"] = redis_url
    return env


@contextmanager
def two_servers(workdir: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Two server processes on the same database, started side by side; their base URLs."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for name in ("first", "second"):
            started.append(start_gateway(workdir, name, env))
        for (process, url), name in zip(started, ("first", "second"), strict=True):
            wait_until_answering(url, process, workdir / f"{name}.log", "/health", STARTUP_SECONDS)
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            stop_gateway(process)


def _warm_up(http: httpx.Client, urls: tuple[str, str], key: str) -> None:
    """One event through each process (by another source), so the timed part is fast."""
    for index, url in enumerate(urls):
        response = http.post(
            f"{url}/api/v1/events",
            json=instructor_event(f"warm-{index}", f"warm-{index}"),
            headers=bearer(key),
        )
        assert response.status_code == 200, response.text


def _fresh_window() -> None:
    """Most of a wall-clock second ahead (in-process windows are aligned on seconds)."""
    left = 1 - (time.time() % 1)
    if left < 0.8:
        time.sleep(left + 0.01)


def _alternate(
    http: httpx.Client, urls: tuple[str, str], key: str, count: int
) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """`count` events alternating between the servers, then one more to each."""
    answers = [
        http.post(
            f"{urls[index % 2]}/api/v1/events",
            json=instructor_event(f"ev-{index}", f"in-{index}"),
            headers=bearer(key),
        )
        for index in range(count)
    ]
    over = [
        http.post(
            f"{url}/api/v1/events",
            json=instructor_event(f"ev-over-{n}", f"in-over-{n}"),
            headers=bearer(key),
        )
        for n, url in enumerate(urls)
    ]
    return answers, over


def test_two_processes_share_one_limit_through_redis(
    tmp_path: Path,
    redis_url: str,
    slugs: tuple[str, str],
    database_file: Database,
) -> None:
    limited, warmup = slugs
    key = add_source(database_file, limited, rate="10/second", burst=10)
    warm_key = add_source(database_file, warmup)

    env = _server_env(database_file, redis_url)
    with two_servers(tmp_path, env) as urls, httpx.Client(timeout=10) as http:
        _warm_up(http, urls, warm_key)
        _fresh_window()
        answers, eleventh = _alternate(http, urls, key, 10)

    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    assert [policy_of(a) for a in answers] == [{"name": "events", "q": 10, "w": 1}] * 10
    # one count for both processes: the remaining quota goes down across them
    assert [state_of(a)["r"] for a in answers] == list(range(9, -1, -1))
    for response in eleventh:
        assert response.status_code == 429, response.text
        assert response.json()["code"] == "throttled"
        assert int(response.headers["Retry-After"]) >= 1
    # and Redis holds the shared counter
    client = redis_client()
    try:
        assert list(client.scan_iter(match=f"*{limited}*")), "no rate-limit key in Redis"
    finally:
        client.close()


def test_without_redis_each_process_counts_its_own_limit(
    tmp_path: Path, slugs: tuple[str, str], database_file: Database
) -> None:
    """In-process storage is per process: two processes allow 10 each."""
    limited, warmup = slugs
    key = add_source(database_file, limited, rate="10/second", burst=10)
    warm_key = add_source(database_file, warmup)

    env = _server_env(database_file, None)
    with two_servers(tmp_path, env) as urls, httpx.Client(timeout=10) as http:
        _warm_up(http, urls, warm_key)
        _fresh_window()
        answers, over = _alternate(http, urls, key, 20)

    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    # each process counts down its own 10
    assert [state_of(a)["r"] for a in answers[0::2]] == list(range(9, -1, -1))
    assert [state_of(a)["r"] for a in answers[1::2]] == list(range(9, -1, -1))
    assert [r.status_code for r in over] == [429, 429]
