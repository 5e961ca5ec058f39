"""Scale-out, tested for real: two `catalog-gateway serve` processes on one fresh PostgreSQL
database and one Redis (`CATALOG_GATEWAY_REDIS_URL`), as N processes behind a load balancer
are, with the reference ecommerce server as a third process.

- the same event sent to both at the same moment is applied exactly once;
- a source's rate limit holds across both (within 10 %);
- a key revoked with `keys revoke` is refused by both at once (pub/sub), though each caches
  keys for 300 s;
- the ecommerce breaker tripped through one is open in the other, which refuses a publishing
  event without calling ecommerce.

The servers are started once for the module (they migrate the fresh database themselves, at
the same time, as hosts starting together do). Every test makes its own source (unique slugs);
Redis db 15 (or `CATALOG_GATEWAY_TEST_REDIS_URL`); PostgreSQL and Redis are skipped when
unreachable, except in CI (`CI=true`), where they must be there.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from catalog_gateway.auth.keys import issue_key, revoke_key
from catalog_gateway.catalog.models import Course, CourseRun, Instructor, RunStatus, Seat
from catalog_gateway.connectors.breaker_storage import namespace_for
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.sources.models import Source
from tests.ecommerce.payloads import envelope, product_payload
from tests.ecommerce.server import Ecommerce, ServerProcess, start_server
from tests.factories import bearer, make_organization, make_source
from tests.protection.conftest import instructor_event
from tests.scaleout.conftest import delete_keys
from tests.servers import CLI, start_gateway, stop_gateway, wait_until_answering

STARTUP_SECONDS = 60
AUTH_CACHE_SECONDS = 300
BREAKER_FAILURES = 2
BREAKER_RESET_SECONDS = 20
PROBLEM_JSON = "application/problem+json"


@dataclass
class Deployment:
    """Two server processes (`a`, `b`: base URLs) on one database and one Redis."""

    a: str
    b: str
    database: Database
    database_url: str
    redis_url: str
    ecommerce: Ecommerce
    tag: str
    workdir: Path

    def source(self, name: str, **options: Any) -> tuple[str, str]:
        """A new source (canonical transformer, MITx): its slug and its first key."""
        slug = f"{name}-{self.tag}"
        with self.database.unit_of_work() as session:
            make_organization(session, "MITx")
            _, issued = make_source(session, slug, **options)
        return slug, issued.api_key


# The deployment: a fresh database, the reference ecommerce server, two gateways ----------


@pytest.fixture(scope="module")
def fresh_postgres(postgres_server_url: str) -> Iterator[str]:
    """An empty PostgreSQL schema of this module's own, first on the search path of the URL:
    to the servers, a fresh database (they migrate it). Not a database of its own: dropping
    one waits for a checkpoint, tens of seconds on a busy machine; a schema goes at once."""
    name = f"cg_scaleout_{uuid.uuid4().hex[:12]}"
    server = make_url(postgres_server_url)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    url = server.update_query_dict({"options": f"-csearch_path={name}"})
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scaleout")


@pytest.fixture(scope="module")
def ecommerce_process(workdir: Path) -> Iterator[ServerProcess]:
    server = start_server(workdir / "products.json", workdir / "ecommerce.log")
    try:
        yield server
    finally:
        server.stop()


def _server_env(database_url: str, redis_url: str, ecommerce_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CATALOG_GATEWAY_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    return env | {
        "CATALOG_GATEWAY_DATABASE_URL": database_url,
        "CATALOG_GATEWAY_REDIS_URL": redis_url,
        "CATALOG_GATEWAY_AUTH_CACHE_SECONDS": str(AUTH_CACHE_SECONDS),
        "CATALOG_GATEWAY_ECOMMERCE_URL": ecommerce_url,
        "CATALOG_GATEWAY_ECOMMERCE_BUDGET_SECONDS": "3",
        "CATALOG_GATEWAY_ECOMMERCE_CONNECT_TIMEOUT": "1",
        "CATALOG_GATEWAY_ECOMMERCE_READ_TIMEOUT": "1",
        "CATALOG_GATEWAY_ECOMMERCE_BREAKER_FAILURES": str(BREAKER_FAILURES),
        "CATALOG_GATEWAY_ECOMMERCE_BREAKER_RESET_SECONDS": str(BREAKER_RESET_SECONDS),
        "CATALOG_GATEWAY_LOG_FORMAT": "json",
    }


@pytest.fixture(scope="module")
def deployment(
    workdir: Path, fresh_postgres: str, redis_url: str, ecommerce_process: ServerProcess
) -> Iterator[Deployment]:
    tag = uuid.uuid4().hex[:10]
    env = _server_env(fresh_postgres, redis_url, ecommerce_process.url)
    started = [start_gateway(workdir, name, env) for name in ("a", "b")]  # side by side
    database = Database(fresh_postgres)
    try:
        for (process, url), name in zip(started, ("a", "b"), strict=True):
            wait_until_answering(url, process, workdir / f"{name}.log", "/ready", STARTUP_SECONDS)
        yield Deployment(
            started[0][1],
            started[1][1],
            database,
            fresh_postgres,
            redis_url,
            Ecommerce(ecommerce_process.url, ecommerce_process.data_path),
            tag,
            workdir,
        )
    finally:
        for process, _ in started:
            stop_gateway(process)
        database.dispose()
        delete_keys(f"{namespace_for('ecommerce', ecommerce_process.url)}:*")
        delete_keys(f"*-{tag}*")  # the sources' rate-limit counters


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15) as client:
        yield client


def _post(http: httpx.Client, url: str, event: dict[str, Any], key: str) -> httpx.Response:
    return http.post(f"{url}/api/v1/events", json=event, headers=bearer(key))


# (a) The same event sent to both at once is applied exactly once --------------------------

SAME_EVENT_IDS = 20


def _product(index: int) -> dict[str, Any]:
    """A complete product of its own (course, instructor, two runs with paid USD seats, which
    ecommerce publishes)."""
    return product_payload(number=f"DUP{index:02d}", external_id=f"xe-dup-{index}")


def test_the_same_event_sent_to_both_processes_at_once_is_applied_exactly_once(
    deployment: Deployment,
) -> None:
    """20 times, one event sent to both processes at the same moment (a barrier releases the
    two requests together): one applies it; the other gets its stored answer (`replayed`),
    or `409 event_in_progress` while the first is still publishing to ecommerce. Never both,
    never an error; the database holds each product once."""
    slug, key = deployment.source("dup")
    clients = {url: httpx.Client(base_url=url, timeout=15) for url in (deployment.a, deployment.b)}
    outcomes: list[tuple[str, list[httpx.Response]]] = []
    try:
        for client in clients.values():  # connections open before the first race
            assert client.get("/health").status_code == 200
        with ThreadPoolExecutor(max_workers=2) as pool:
            for index in range(SAME_EVENT_IDS):
                event_id = f"evt-dup-{index}"
                event = envelope(event_id, _product(index))
                barrier = threading.Barrier(2)

                def send(
                    url: str, event: dict[str, Any] = event, barrier: Any = barrier
                ) -> httpx.Response:
                    barrier.wait(timeout=10)  # both requests leave at the same moment
                    return clients[url].post("/api/v1/events", json=event, headers=bearer(key))

                answers = list(pool.map(send, (deployment.a, deployment.b)))
                outcomes.append((event_id, answers))
    finally:
        for client in clients.values():
            client.close()

    for event_id, answers in outcomes:
        described = [(r.status_code, r.text[:300]) for r in answers]
        firsts = [r for r in answers if r.status_code == 200 and not r.json().get("replayed")]
        others = [r for r in answers if r not in firsts]
        assert len(firsts) == 1, f"{event_id}: not exactly one first answer: {described}"
        assert firsts[0].json()["status"] == "applied", described
        assert len(others) == 1, described
        other = others[0]
        if other.status_code == 200:  # the first had finished: its stored answer, again
            assert other.json()["status"] == "applied", described
            assert other.json()["replayed"] is True, described
            assert other.headers["Idempotent-Replayed"] == "true", described
        else:  # the first was still running (publishing to ecommerce)
            assert other.status_code == 409, described
            body = other.json()
            assert (body["status"], body["retryable"]) == ("conflict", True), described
            assert [error["code"] for error in body["errors"]] == ["event_in_progress"]

    # The database holds each product once, applied once: one record, one attempt.
    with deployment.database.read() as session:
        source_id = session.scalar(select(Source.id).where(Source.slug == slug))
        records = session.execute(
            select(EventRecord.event_id, EventRecord.status, EventRecord.attempts).where(
                EventRecord.source_id == source_id
            )
        ).all()
        courses = session.scalars(select(Course.key).where(Course.source_id == source_id)).all()
        runs = session.execute(
            select(CourseRun.key, CourseRun.status)
            .join(Course, CourseRun.course_id == Course.id)
            .where(Course.source_id == source_id)
        ).all()
        seats = session.scalar(
            select(func.count())
            .select_from(Seat)
            .join(CourseRun, Seat.run_id == CourseRun.id)
            .join(Course, CourseRun.course_id == Course.id)
            .where(Course.source_id == source_id)
        )
        instructors = session.scalar(
            select(func.count()).select_from(Instructor).where(Instructor.source_id == source_id)
        )
    assert sorted(tuple(record) for record in records) == sorted(
        (f"evt-dup-{index}", "applied", 1) for index in range(SAME_EVENT_IDS)
    )
    assert sorted(courses) == sorted(f"MITx+DUP{index:02d}" for index in range(SAME_EVENT_IDS))
    assert len(runs) == 2 * SAME_EVENT_IDS
    assert len({key for key, _ in runs}) == 2 * SAME_EVENT_IDS
    assert {status for _, status in runs} == {RunStatus.PUBLISHED}
    assert seats == 2 * SAME_EVENT_IDS  # one paid seat per run
    assert instructors == 1  # every product names the same instructor, in-1


# (b) A source's rate limit holds across both processes ------------------------------------

RATE = 20  # per second, burst 20: the limiter's window is 1 s holding 20 requests
SEND_RATE = 100  # requests a second, alternately to each process: five times the limit
SEND_SECONDS = 3.0


async def _flood(urls: tuple[str, str], key: str, tag: str) -> tuple[list[int], float]:
    """Send `SEND_RATE` events a second for `SEND_SECONDS`, alternately to each process, on a
    fixed schedule (open loop: a slow answer delays no later request). Their status codes, and
    the seconds from the first request sent to the last."""
    count = int(SEND_RATE * SEND_SECONDS)
    sent: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:

        async def send(index: int) -> int:
            sent.append(time.monotonic())
            response = await client.post(
                f"{urls[index % 2]}/api/v1/events",
                json=instructor_event(f"evt-{tag}-{index}", f"in-{tag}-{index}"),
                headers=bearer(key),
            )
            return response.status_code

        start = time.monotonic()
        tasks = []
        for index in range(count):
            delay = start + index / SEND_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(index)))
        statuses = list(await asyncio.gather(*tasks))
    return statuses, max(sent) - min(sent)


def test_a_source_limit_holds_across_both_processes(deployment: Deployment) -> None:
    """How many events a limit of 20/second with a burst of 20 lets through, to both processes
    together, under a flood of five times that for 3 s.

    The limiter (`limits`' sliding window counter, shared in Redis) holds a window of 1 s and
    20 requests, which begins with the first request: the burst, 20 at once, then nothing
    until the window has passed. From then on it weighs the previous window's 20 by how much
    of it still overlaps the last second, so it lets requests through at the rate, evenly:
    20 · f of the current window by fraction f. Over `span` seconds from the first request to
    the last, it accepts burst + rate · (span - 1 s) = 20 · span (≈ 60 for 3 s). A token
    bucket would give rate · span + burst (80); each process counting alone (no shared
    counter) would give twice 60. The window's boundaries are rounded by one request at most
    each, so ±10 % (54 … 66) is a fair bound that still tells those apart.
    """
    _, key = deployment.source("limited", rate=f"{RATE}/second", burst=RATE)

    statuses, span = asyncio.run(_flood((deployment.a, deployment.b), key, deployment.tag))

    assert set(statuses) <= {200, 429}, sorted(set(statuses))
    accepted = statuses.count(200)
    expected = RATE * span
    assert abs(accepted - expected) <= 0.1 * expected, (
        f"{accepted} events accepted in {span:.2f} s across both processes; "
        f"the shared limit allows {expected:.1f} (±10 %)"
    )
    # Both processes took part, and answered 429 alike.
    assert statuses[0::2].count(429) > 0
    assert statuses[1::2].count(429) > 0


# (c) A key revoked through one process is refused by both at once -------------------------


def _refused(http: httpx.Client, url: str, key: str, event_id: str) -> bool:
    response = _post(http, url, instructor_event(event_id, "in-revoked"), key)
    assert response.status_code in {200, 401}, response.text
    return response.status_code == 401


def test_a_revoked_key_is_refused_by_both_processes_at_once(
    deployment: Deployment, http: httpx.Client
) -> None:
    """Both processes cache keys for 300 s. A key revoked with `keys revoke` (Redis URL set) is
    refused by both within a second; a key revoked in the database without announcing it
    (what the cache alone would do) is still accepted: the announcement, not a lookup, made
    the difference."""
    slug, revoked = deployment.source("revoked")
    with deployment.database.unit_of_work() as session:
        source = session.scalar(select(Source).where(Source.slug == slug))
        control = issue_key(session, source=source)
    urls = (deployment.a, deployment.b)
    for index, url in enumerate(urls):  # both processes cache both keys
        for name, key in (("revoked", revoked), ("control", control.api_key)):
            assert not _refused(http, url, key, f"evt-{name}-{index}")
    with deployment.database.unit_of_work() as session:
        revoke_key(session, control.id)  # committed, never announced

    result = subprocess.run(
        [CLI, "keys", "revoke", revoked],
        env=_server_env(deployment.database_url, deployment.redis_url, "http://unused"),
        cwd=deployment.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    announced = time.monotonic()

    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    refused_after: dict[str, float] = {}
    attempt = 0
    while len(refused_after) < 2 and time.monotonic() - announced < 1.0:
        for url in urls:
            attempt += 1
            if url not in refused_after and _refused(http, url, revoked, f"evt-after-{attempt}"):
                refused_after[url] = time.monotonic() - announced
        time.sleep(0.02)
    assert set(refused_after) == set(urls), (
        f"refused within 1 s by {sorted(refused_after)} only (cache: {AUTH_CACHE_SECONDS} s)"
    )
    for url in urls:  # the control key is still cached as live: only announced keys go at once
        assert not _refused(http, url, control.api_key, f"evt-control-after-{url[-5:]}")


# (d) The breaker tripped through one process is open in the other ------------------------


def _ecommerce_calls(http: httpx.Client, url: str) -> float:
    """How many calls to ecommerce the process at `url` has made (its own metrics)."""
    response = http.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith('catalog_gateway_downstream_calls_total{system="ecommerce"')
    )


@pytest.fixture
def failing_ecommerce(deployment: Deployment) -> Iterator[Ecommerce]:
    """Ecommerce answering 500 to every publication; afterwards healthy again, and the shared
    breaker forgotten (closed), whichever test runs next."""
    deployment.ecommerce.fault(status=500)
    yield deployment.ecommerce
    deployment.ecommerce.clear_faults()
    delete_keys(f"{namespace_for('ecommerce', deployment.ecommerce.url)}:*")


def test_the_breaker_tripped_through_one_process_is_open_in_the_other(
    deployment: Deployment, failing_ecommerce: Ecommerce, http: httpx.Client
) -> None:
    _, key = deployment.source("breaker")
    calls_before = _ecommerce_calls(http, deployment.b)

    tripped = _post(
        http,
        deployment.a,
        envelope("evt-trip", product_payload(number="BRK1", external_id="xe-brk-1")),
        key,
    )
    assert tripped.status_code == 502, tripped.text
    assert tripped.json()["errors"][0]["code"] == "ecommerce_unavailable"

    other = envelope("evt-other", product_payload(number="BRK2", external_id="xe-brk-2"))
    refused = _post(http, deployment.b, other, key)

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["code"] == "downstream_unavailable"
    assert 1 <= int(refused.headers["Retry-After"]) <= BREAKER_RESET_SECONDS
    # B refused it without calling ecommerce, and nothing of it was written.
    assert _ecommerce_calls(http, deployment.b) == calls_before
    for run_key in ("course-v1:MITx+BRK2+1T2027", "course-v1:MITx+BRK2+2T2027"):
        assert failing_ecommerce.products(run_key) == []
    assert http.get(f"{deployment.b}/api/v1/courses/MITx+BRK2").status_code == 404
    record = http.get(f"{deployment.b}/api/v1/events/evt-other", headers=bearer(key))
    assert record.status_code == 404, record.text
