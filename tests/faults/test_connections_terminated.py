"""Database connections terminated under load: the real fault is PostgreSQL's
`pg_terminate_backend` run 15 times on every connection a `catalog-gateway serve` process holds
to its (fresh) database, while 8 clients send it 200 product upserts, as single events and as
independent batches of 5, each of which the reference ecommerce server publishes (so the
terminations also land in the writes after the publication: SKUs, the event's answer).

It proves that a dropped database connection is answered, never a 500, a reset connection or a
stuck event: every single event is answered 200, or 503 `failed`, retryable,
`catalog_write_failed`, with `Retry-After`; every batch 200 with one answer per event, each
applied or that same retryable failure (or, when the database fails while the caller's key is
checked — twice, as a lost connection is read again — before the batch is read, 503
`catalog_write_failed`, nothing written); and sending the failed events again applies them all,
exactly once (exact row counts), with no event record left `in_progress`.

Whether a termination hits a connection in the middle of a transaction is up to timing: the
test makes sure the terminations happen (PostgreSQL says it terminated backends), and reports
how many answers they turned into failures, without depending on a lucky hit.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from catalog_gateway.catalog.models import RunStatus
from tests.ecommerce.server import Ecommerce
from tests.factories import bearer
from tests.faults.conftest import (
    FreshDatabase,
    GatewayProcess,
    catalog_products,
    expected_counts,
    expected_products,
    product_event,
    record_statuses,
    row_counts,
    run_keys,
    run_statuses,
    server_env,
)

EVENTS = 200
BATCH_SIZE = 5
CLIENTS = 8
TERMINATIONS = 15
TERMINATION_INTERVAL = 0.08  # seconds between two terminations (15 → about 1.2 s of load)
LEASE_SECONDS = 2  # an event left in progress by a failed finish may be resumed after this
RESEND_ROUNDS = 10
TAG = "T"
DROPPED = "catalog_write_failed"
APPLIED = {"applied", "unchanged"}


@dataclass
class Exchange:
    """One request and what came back: a response, or the transport error instead."""

    events: list[dict[str, Any]]
    batch: bool
    status: int | None = None
    body: Any = None
    retry_after: str | None = None
    error: str | None = None

    def answers(self) -> list[dict[str, Any]]:
        """The event answers it got (one for a single event, one per event for a batch)."""
        if self.batch:
            return list(self.body.get("results", [])) if isinstance(self.body, dict) else []
        return [self.body] if isinstance(self.body, dict) and "event_id" in self.body else []


@dataclass
class Terminator:
    """Terminates every backend of one database, `TERMINATIONS` times."""

    server_url: str
    database: str
    terminated: list[int] = field(default_factory=list)  # backends terminated, per round
    when: list[float] = field(default_factory=list)  # monotonic time of each round

    def run(self, start: threading.Event) -> None:
        libpq = make_url(self.server_url).set(drivername="postgresql")
        with psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True) as admin:
            start.wait(timeout=60)
            for _ in range(TERMINATIONS):
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database,),
                ).fetchall()
                self.terminated.append(sum(1 for (done,) in rows if done))
                self.when.append(time.monotonic())
                time.sleep(TERMINATION_INTERVAL)


def _work(events: list[dict[str, Any]]) -> list[Exchange]:
    """The requests: per 10 events, five single events then one batch of five."""
    work = []
    for start in range(0, len(events), 2 * BATCH_SIZE):
        work += [Exchange([event], batch=False) for event in events[start : start + BATCH_SIZE]]
        work.append(Exchange(events[start + BATCH_SIZE : start + 2 * BATCH_SIZE], batch=True))
    return work


def _client(url: str, key: str, todo: queue.Queue[Exchange], done: list[Exchange]) -> None:
    """One client: one keep-alive connection (a reset shows as a transport error)."""
    with httpx.Client(base_url=url, headers=bearer(key), timeout=60) as client:
        while True:
            try:
                exchange = todo.get_nowait()
            except queue.Empty:
                return
            try:
                if exchange.batch:
                    body = {"events": exchange.events, "error_policy": "independent"}
                    response = client.post("/api/v1/events/batch", json=body)
                else:
                    response = client.post("/api/v1/events", json=exchange.events[0])
            except httpx.TransportError as error:
                exchange.error = f"{type(error).__name__}: {error}"
            else:
                exchange.status = response.status_code
                exchange.retry_after = response.headers.get("Retry-After")
                try:
                    exchange.body = response.json()
                except ValueError:
                    exchange.body = response.text[:500]
            done.append(exchange)


def _described(answer: dict[str, Any]) -> str:
    codes = ",".join(error["code"] for error in answer.get("errors", []))
    return f"{answer.get('status')}{':' + codes if codes else ''}"


def _is_dropped(answer: dict[str, Any]) -> bool:
    """`failed`, retryable, for the catalog database's failure only."""
    return (
        answer.get("status") == "failed"
        and answer.get("retryable") is True
        and {error["code"] for error in answer.get("errors", [])} == {DROPPED}
    )


def test_terminated_database_connections_are_answered_and_lose_nothing(
    make_database: Callable[[str], FreshDatabase],
    ecommerce: Ecommerce,
    gateway_process: Callable[..., GatewayProcess],
) -> None:
    fresh = make_database("postgresql")
    server = gateway_process(
        server_env(
            fresh.url,
            ecommerce.url,
            event_lease_seconds=LEASE_SECONDS,
            ecommerce_budget_seconds=5,
            ecommerce_connect_timeout=1,
            ecommerce_read_timeout=2,
        )
    )
    url = server.start()
    # As in production: the started server exempted its heap from the garbage collector.
    assert '"event": "heap_settled"' in server.log_text()
    events = [product_event(TAG, index, runs=1) for index in range(EVENTS)]
    work = _work(events)
    todo: queue.Queue[Exchange] = queue.Queue()
    for exchange in work:
        todo.put(exchange)
    done: list[Exchange] = []
    assert fresh.server_url is not None
    terminator = Terminator(fresh.server_url, str(make_url(fresh.url).database))
    start = threading.Event()
    killer = threading.Thread(target=terminator.run, args=(start,), daemon=True)
    killer.start()
    clients = [
        threading.Thread(target=_client, args=(url, fresh.api_key, todo, done), daemon=True)
        for _ in range(CLIENTS)
    ]
    began = time.monotonic()
    for client in clients:
        client.start()
    start.set()
    for client in clients:
        client.join(timeout=120)
    ended = time.monotonic()
    killer.join(timeout=30)

    assert not any(client.is_alive() for client in clients), "a client still waits"
    assert len(done) == len(work)
    # The terminations happened, and terminated the server's connections while the load ran.
    assert len(terminator.when) == TERMINATIONS
    rounds = zip(terminator.terminated, terminator.when, strict=True)
    during_load = sum(n for n, at in rounds if at < ended)
    assert during_load > 0, f"nothing terminated during the load: {terminator.terminated}"

    # What came back.
    transport_errors = [e.error for e in done if e.error is not None]
    by_status = Counter(e.status for e in done)
    by_answer = Counter(_described(a) for e in done for a in e.answers())
    report = (
        f"{len(work)} requests in {ended - began:.1f} s; HTTP statuses {dict(by_status)}; "
        f"answers {dict(by_answer)}; transport errors {len(transport_errors)}; backends "
        f"terminated per round {terminator.terminated}"
    )
    print(report)  # how many terminations hit (shown with -s, and on failure)
    assert transport_errors == [], f"{transport_errors[:5]} … {report}"
    assert 500 not in by_status, report
    for exchange in done:
        body = json.dumps(exchange.body)[:1000]
        if exchange.batch and exchange.status == 503:
            # The database failed while the key was checked, before the batch was read.
            assert exchange.body["code"] == DROPPED, body
            assert "nothing was written" in exchange.body["detail"], body
            assert exchange.retry_after == "1", exchange.retry_after
        elif exchange.batch:
            assert exchange.status == 200, body
            answers = exchange.answers()
            assert [a["event_id"] for a in answers] == [e["event_id"] for e in exchange.events]
            for answer in answers:
                assert answer["status"] in APPLIED or _is_dropped(answer), body
        elif exchange.status == 200:
            assert exchange.body["status"] in APPLIED, body
        else:
            assert exchange.status == 503, body
            assert _is_dropped(exchange.body), body
            assert exchange.retry_after == "1", exchange.retry_after

    # Every event not applied, sent again (the same event) until it is.
    by_id = {event["event_id"]: event for event in events}
    answers = [answer for exchange in done for answer in exchange.answers()]
    pending = set(by_id) - {a["event_id"] for a in answers if a["status"] in APPLIED}
    resends: Counter[str] = Counter()
    with httpx.Client(base_url=url, headers=bearer(fresh.api_key), timeout=60) as client:
        for _ in range(RESEND_ROUNDS):
            if not pending:
                break
            for event_id in sorted(pending):
                response = client.post("/api/v1/events", json=by_id[event_id])
                answer = response.json()
                resends[f"{response.status_code} {_described(answer)}"] += 1
                if response.status_code == 200 and answer["status"] in APPLIED:
                    pending.discard(event_id)
            if pending:  # in progress elsewhere: left by a failed finish, resumed past the lease
                time.sleep(LEASE_SECONDS)
    assert pending == set(), f"never applied: {sorted(pending)}; resends {dict(resends)}"

    # Nothing lost, nothing twice; every event finished; every run published once.
    runs = [1] * EVENTS
    assert row_counts(fresh.database, fresh.source_id) == expected_counts(runs)
    assert catalog_products(fresh.database, fresh.source_id) == expected_products(TAG, runs)
    assert set(run_statuses(fresh.database, fresh.source_id).values()) == {str(RunStatus.PUBLISHED)}
    records = record_statuses(fresh.database, fresh.source_id)
    assert len(records) == EVENTS
    # Every product is new: resumed or not, each event's record says it applied it.
    assert set(records.values()) == {"applied"}, Counter(records.values())
    assert ecommerce.data_path is not None
    published = json.loads(ecommerce.data_path.read_text())
    assert set(published) == {run_keys(TAG, index)[0] for index in range(EVENTS)}
