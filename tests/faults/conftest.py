"""Fixtures of the real-fault tests: a fresh database (a SQLite file, or a PostgreSQL database
of the test's own, created and dropped around it), the reference ecommerce server as a process
(emptied before each test), `catalog-gateway serve` processes that a test can SIGKILL and
start again on the same database, and what the tests check afterwards: the catalog rows of a
source, whole and counted, and the event log's statuses.

Nothing is monkeypatched: the faults are real (a killed process, terminated database
connections, an ecommerce server answering 503), and so is everything they hit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from catalog_gateway.catalog.models import Course, CourseRun, Instructor, RunStaff, Seat
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import upgrade
from catalog_gateway.events.models import EventRecord
from tests.ecommerce.payloads import SEAT_PRICES, SEAT_TYPE, envelope, product_payload
from tests.ecommerce.server import Ecommerce, ServerProcess, start_server
from tests.factories import make_organization, make_source
from tests.servers import start_gateway, stop_gateway, wait_until_answering

STARTUP_SECONDS = 60
# High enough that throttling never answers for the faults under test (a 500-event batch is
# charged 500 events).
SOURCE_RATE = "100000/second"
SOURCE_BURST = 100_000
TERMS = ("1T2027", "2T2027")  # the runs product_payload makes, by their start dates


# A fresh database ---------------------------------------------------------------------------


@dataclass
class FreshDatabase:
    """A migrated, empty database with organization MITx and one source (`exec-ed`, canonical
    transformer, a limit throttling never reaches), and that source's key."""

    backend: str
    url: str
    database: Database
    source_id: int
    api_key: str
    server_url: str | None = None  # PostgreSQL: the server's own test database, to administer


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def make_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], FreshDatabase]]:
    """`make("sqlite")` or `make("postgresql")`: a fresh database of this test's own. A
    PostgreSQL one is a database (CREATE DATABASE), so that its connections are told apart by
    `datname`; it is dropped afterwards. PostgreSQL is skipped when unreachable, except in CI."""
    made: list[FreshDatabase] = []
    dropped: list[tuple[str, str]] = []  # (server URL, database name)

    def make(backend: str) -> FreshDatabase:
        server: str | None = None
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'catalog-{len(made)}.db'}"
        else:
            server = request.getfixturevalue("postgres_server_url")
            assert server is not None
            name = f"cg_faults_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(_libpq(server), autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            dropped.append((server, name))
            url = make_url(server).set(database=name).render_as_string(hide_password=False)
        database = Database(url)
        upgrade(database)
        with database.unit_of_work() as session:
            make_organization(session, "MITx")
            source, issued = make_source(session, "exec-ed", rate=SOURCE_RATE, burst=SOURCE_BURST)
            source_id = source.id
        fresh = FreshDatabase(backend, url, database, source_id, issued.api_key, server)
        made.append(fresh)
        return fresh

    yield make
    for fresh in made:
        fresh.database.dispose()
    for server, name in dropped:
        with psycopg.connect(_libpq(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The reference ecommerce server -------------------------------------------------------------


@pytest.fixture(scope="session")
def ecommerce_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The reference ecommerce server, one process for the session (its start costs seconds);
    each test empties it first (`ecommerce`)."""
    directory = tmp_path_factory.mktemp("faults-ecommerce")
    server = start_server(directory / "products.json", directory / "ecommerce.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ecommerce(ecommerce_server: ServerProcess) -> Ecommerce:
    """The reference ecommerce server, without faults and with no product stored."""
    ecommerce = Ecommerce(ecommerce_server.url, ecommerce_server.data_path)
    ecommerce.clear_faults()
    ecommerce.clear_products()
    return ecommerce


# `catalog-gateway serve` processes -----------------------------------------------------------


def server_env(database_url: str, ecommerce_url: str | None, **settings: Any) -> dict[str, str]:
    """The environment of a server process: this one's, without any `CATALOG_GATEWAY_*`
    variable, plus the database, the ecommerce server and `settings` (`event_lease_seconds=2`
    → `CATALOG_GATEWAY_EVENT_LEASE_SECONDS=2`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CATALOG_GATEWAY_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env |= {
        "CATALOG_GATEWAY_DATABASE_URL": database_url,
        "CATALOG_GATEWAY_LOG_FORMAT": "json",
    }
    if ecommerce_url is not None:
        env["CATALOG_GATEWAY_ECOMMERCE_URL"] = ecommerce_url
    env |= {f"CATALOG_GATEWAY_{name.upper()}": str(value) for name, value in settings.items()}
    return env


@dataclass
class GatewayProcess:
    """`catalog-gateway serve`, started (again) with one environment; each start logs to a file
    of its own (`<name>-<n>.log` in `workdir`)."""

    workdir: Path
    name: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> str:
        """Start a new process (on a new port) and wait until it is ready; its base URL."""
        self.starts += 1
        name = f"{self.name}-{self.starts}"
        self.process, self.url = start_gateway(self.workdir, name, self.env)
        log = self.workdir / f"{name}.log"
        self.logs.append(log)
        wait_until_answering(self.url, self.process, log, "/ready", STARTUP_SECONDS)
        return self.url

    def kill(self) -> None:
        """SIGKILL the process: no shutdown, no cleanup, as when a host dies."""
        assert self.process is not None, "never started"
        assert self.process.poll() is None, f"already exited with {self.process.returncode}"
        self.process.kill()
        self.process.wait(timeout=15)
        assert self.process.returncode == -signal.SIGKILL, self.process.returncode

    def stop(self) -> None:
        """Stop the process if it runs (SIGTERM, then SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            stop_gateway(self.process)

    def log_text(self) -> str:
        """What every start of it logged, for failure messages."""
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in self.logs)


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """`make(env, name="gateway")`: a server process (not started yet), stopped afterwards."""
    processes: list[GatewayProcess] = []

    def make(env: dict[str, str], name: str = "gateway") -> GatewayProcess:
        process = GatewayProcess(tmp_path, name, env)
        processes.append(process)
        return process

    yield make
    for process in processes:
        process.stop()


# Products, and what the catalog must hold of them -----------------------------------------


def product_number(tag: str, index: int) -> str:
    return f"{tag}{index:03d}"


def run_keys(tag: str, index: int) -> list[str]:
    """The keys of the two runs of product `index`."""
    return [f"course-v1:MITx+{product_number(tag, index)}+{term}" for term in TERMS]


def product_event(tag: str, index: int, runs: int = 2) -> dict[str, Any]:
    """A `product.upsert` of a product of its own: course `MITx+<tag><index>`, its instructor
    (of its own too, `in-<tag>-<index>`), and its first `runs` runs (1 or 2), each with one paid
    USD seat, which ecommerce publishes."""
    payload = product_payload(
        number=product_number(tag, index), external_id=f"xe-{tag.lower()}-{index}"
    )
    instructor = f"in-{tag.lower()}-{index}"
    payload["instructors"][0]["external_id"] = instructor
    payload["course_runs"] = payload["course_runs"][:runs]
    for run in payload["course_runs"]:
        run["staff"] = [instructor]
    return envelope(f"evt-{tag.lower()}-{index}", payload)


Product = dict[str, tuple[list[tuple[str, Decimal, str]], list[str]]]
"""A course's runs: run key → (its seats as (type, price, currency), its staff's ids)."""


def expected_products(tag: str, runs: list[int]) -> dict[str, Product]:
    """Course key → its runs, for the products `product_event` made (`runs[index]`: how many
    runs product `index` has)."""
    return {
        f"MITx+{product_number(tag, index)}": {
            run_key: ([(SEAT_TYPE, Decimal(price), "USD")], [f"in-{tag.lower()}-{index}"])
            for run_key, price in zip(run_keys(tag, index)[:count], SEAT_PRICES, strict=False)
        }
        for index, count in enumerate(runs)
    }


def catalog_products(database: Database, source_id: int) -> dict[str, Product]:
    """Course key → its runs, as the catalog holds them for the source."""
    products: dict[str, Product] = {}
    with database.read() as session:
        for course_key in session.scalars(select(Course.key).where(Course.source_id == source_id)):
            products[course_key] = {}
        runs = session.execute(
            select(Course.key, CourseRun.id, CourseRun.key)
            .join(Course, CourseRun.course_id == Course.id)
            .where(Course.source_id == source_id)
        ).all()
        seats: dict[int, list[tuple[str, Decimal, str]]] = {}
        for run_id, seat_type, price, currency in session.execute(
            select(Seat.run_id, Seat.type, Seat.price, Seat.currency)
        ):
            seats.setdefault(run_id, []).append((seat_type, Decimal(price), currency))
        staff: dict[int, list[tuple[int, str]]] = {}
        for run_id, position, external_id in session.execute(
            select(RunStaff.run_id, RunStaff.position, Instructor.external_id).join(
                Instructor, RunStaff.instructor_id == Instructor.id
            )
        ):
            staff.setdefault(run_id, []).append((position, external_id))
    for course_key, run_id, run_key in runs:
        products[course_key][run_key] = (
            sorted(seats.get(run_id, [])),
            [external_id for _, external_id in sorted(staff.get(run_id, []))],
        )
    return products


def row_counts(database: Database, source_id: int) -> dict[str, int]:
    """How many courses, runs, seats and instructors the source has."""
    with database.read() as session:
        courses = session.scalar(
            select(func.count()).select_from(Course).where(Course.source_id == source_id)
        )
        runs = session.scalar(
            select(func.count())
            .select_from(CourseRun)
            .join(Course, CourseRun.course_id == Course.id)
            .where(Course.source_id == source_id)
        )
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
    return {"courses": courses, "runs": runs, "seats": seats, "instructors": instructors}


def expected_counts(runs: list[int]) -> dict[str, int]:
    """The rows of the products `product_event` made (`runs[index]`: how many runs product
    `index` has): a course and an instructor each, a seat per run."""
    return {
        "courses": len(runs),
        "runs": sum(runs),
        "seats": sum(runs),
        "instructors": len(runs),
    }


def run_statuses(database: Database, source_id: int) -> dict[str, str]:
    """Run key → its status, for the source's runs."""
    with database.read() as session:
        rows = session.execute(
            select(CourseRun.key, CourseRun.status)
            .join(Course, CourseRun.course_id == Course.id)
            .where(Course.source_id == source_id)
        ).all()
    return {key: str(status) for key, status in rows}


def record_statuses(database: Database, source_id: int) -> dict[str, str]:
    """Event id → its record's status in the event log."""
    with database.read() as session:
        rows = session.execute(
            select(EventRecord.event_id, EventRecord.status).where(
                EventRecord.source_id == source_id
            )
        ).all()
    return dict(rows)


def tally(answers: list[dict[str, Any]]) -> Counter[str]:
    """How many answers ended in each status (`failed:<first code>` for failures), for
    failure messages."""
    return Counter(
        f"{a['status']}:{a['errors'][0]['code']}" if a["errors"] else a["status"] for a in answers
    )
