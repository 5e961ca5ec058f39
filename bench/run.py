"""Benchmarks of Catalog Gateway: in process, then against a real server process on loopback.

    python bench/run.py            # full: ~20 s per scenario
    python bench/run.py --quick    # the same scenarios, short (a few minutes in all)

First bench/profile.py runs in its own process (CPU ms per event, in process, on SQLite).
Then every HTTP scenario runs against `catalog-gateway serve` started here in its own process,
on a fresh database (SQLite, then PostgreSQL when reachable), and is measured in the same run
as a control endpoint that only parses a body of the same size (the HTTP stack's ceiling on
this machine). Then two processes on one PostgreSQL database and one Redis (scale-out), when
both are reachable. The load generator (aiohttp) runs on the same machine and competes for its
cores: figures are for the pair, not the server alone. The last line printed is one
`RESULT key=value ...` line (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families

CLI = str(Path(sys.executable).parent / "catalog-gateway")
PROFILE = Path(__file__).with_name("profile.py")
CONCURRENCY = 32
BATCH = 500
# Products re-sent unchanged are numbered from here (above every other scenario's numbers).
UNCHANGED_FIRST = 20_000_000
EPOCH = datetime(2026, 11, 28, 10, tzinfo=UTC)
POSTGRES_SERVER = os.environ.get(
    "CATALOG_GATEWAY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_SERVER = os.environ.get("CATALOG_GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
FLOOD_LIMIT = 100  # events/s of the flooding source
FLOOD_OFFERED = 2000  # events/s it sends
LAG_METRIC = "catalog_gateway_event_loop_lag_seconds"


@dataclass
class Sample:
    """Latencies (ms) and statuses of one scenario."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    events: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def percentile(self, p: float, status: int | None = None) -> float:
        values = self.latencies if status is None else self._by_status.get(status, [])
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    _by_status: dict[int, list[float]] = field(default_factory=dict)

    def record(self, status: int, latency_ms: float, events: int = 1) -> None:
        self.latencies.append(latency_ms)
        self.statuses[status] += 1
        self._by_status.setdefault(status, []).append(latency_ms)
        if status == 200:
            self.events += events


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([CLI, *args], env=env, check=True, capture_output=True, text=True).stdout


class Server:
    """`catalog-gateway serve` on a fresh database, with two sources; or, given `peer`, another
    process on the peer's database (and settings, and sources)."""

    def __init__(
        self, database_url: str, *, env: dict[str, str] | None = None, peer: Server | None = None
    ) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "CATALOG_GATEWAY_DATABASE_URL": database_url,
            "CATALOG_GATEWAY_BENCH_CONTROL": "true",
            "CATALOG_GATEWAY_READ_RATE": "100000/second",
            "CATALOG_GATEWAY_READ_BURST": "100000",
            **(env or {}),
        }
        self.url = f"http://127.0.0.1:{self.port}"
        if peer is None:
            # Unique slugs: rate-limit counts kept in a shared Redis never meet an earlier run's.
            suffix = uuid.uuid4().hex[:6]
            run_cli(self.env, "db", "upgrade")
            run_cli(self.env, "organizations", "create", "MITx", "--name", "MIT")
            self.key = self._source(f"bench-{suffix}", "1000000/second", 1000000)
            self.flood_key = self._source(f"flood-{suffix}", f"{FLOOD_LIMIT}/second", FLOOD_LIMIT)
        else:
            self.key, self.flood_key = peer.key, peer.flood_key
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port)],
            env={**self.env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def _source(self, slug: str, rate: str, burst: int) -> str:
        out = run_cli(
            self.env, "sources", "create", slug, "--transformer", "canonical",
            "--rate", rate, "--burst", str(burst), "--json",
        )  # fmt: skip
        return str(json.loads(out)["api_key"])

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- payloads ----------------------------------------------------------------------------


def product(n: int, revision: int = 0) -> dict[str, Any]:
    """3 instructors, 1 course, 2 runs with 2 seats each (~2 KB)."""
    instructors = [
        {
            "external_id": f"in-{n}-{i}",
            "given_name": f"Instructor {i}",
            "family_name": "Lovelace",
            "email": f"in{i}@example.org",
            "bio": "<p>Teaches data science to leaders.</p>",
            "position": {"title": "Professor", "organization": "MIT"},
        }
        for i in range(3)
    ]
    runs = [
        {
            "external_id": f"run-{n}-{r}",
            "start": f"2027-0{2 + 4 * r}-01T00:00:00Z",
            "end": f"2027-0{3 + 4 * r}-29T23:59:59Z",
            "pacing": "instructor_paced",
            "run_type": "paid-executive-education",
            "min_effort": 4,
            "max_effort": 6,
            "weeks_to_complete": 8,
            "content_language": "en-US",
            "transcript_languages": ["en-US"],
            "staff": [i["external_id"] for i in instructors],
            "seats": [
                {"type": "paid-executive-education", "price": f"{2800 + revision}.00",
                 "currency": "USD"},
                {"type": "paid-executive-education", "price": "2600.00", "currency": "EUR"},
            ],
        }
        for r in range(2)
    ]  # fmt: skip
    return {
        "course": {
            "external_id": f"xe-{n}",
            "organization": "MITx",
            "number": f"DS{n}",
            "title": f"Data Science for Leaders, revision {revision}",
            "short_description": "Lead with data.",
            "full_description": "<p>Eight weeks on data-driven decisions.</p>",
            "level": "introductory",
            "subjects": ["computer-science", "data-analysis-statistics"],
            "image_url": "https://cdn.example.org/ds.jpg",
            "course_type": "executive-education-2u",
            "entitlement": {
                "seat_type": "paid-executive-education", "price": "2800.00", "currency": "USD"
            },
            "marketing": {"external_url": "https://example.org/ds",
                          "marketing_type": "short_course"},
        },
        "instructors": instructors,
        "course_runs": runs,
    }  # fmt: skip


def envelope(n: int, revision: int = 0, at_second: int | None = None) -> dict[str, Any]:
    """Product `n` at `revision`, with a new event id, occurring `at_second` s after EPOCH
    (by default `revision` s: later revisions happen later, so an update is never stale)."""
    seconds = revision if at_second is None else at_second
    return {
        "event_id": f"ev-{uuid.uuid4().hex}",
        "event_type": "product.upsert",
        "occurred_at": (EPOCH + timedelta(seconds=seconds)).isoformat(),
        "payload": product(n, revision),
    }


# --- load --------------------------------------------------------------------------------


Send = Callable[[aiohttp.ClientSession, int], Awaitable[tuple[int, int]]]
JSON = {"content-type": "application/json"}


async def post(
    client: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    """POST a JSON body; the status and the decoded answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with client.post(url, data=data, headers={**JSON, **headers}) as response:
        return response.status, await response.json(content_type=None)


@contextmanager
def generator_gc_paused() -> Iterator[None]:
    """No garbage collection in the load generator while it measures: its own pauses (tens of
    milliseconds) would be counted as the server's latency. What a scenario leaves is collected
    when the next one starts."""
    enabled = gc.isenabled()  # a scenario inside another (reads during the flood) keeps it off
    if enabled:
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def closed_loop(
    sample: Sample, seconds: float, send: Send, concurrency: int = CONCURRENCY
) -> Sample:
    """`concurrency` clients sending back to back for `seconds`."""
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    with generator_gc_paused():
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

            async def worker() -> None:
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    status, events = await send(client, next(counter))
                    sample.record(status, (time.perf_counter() - started) * 1000, events)

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            sample.seconds = time.monotonic() - started
    return sample


async def product_upserts(server: Server | list[Server], seconds: float, name: str) -> Sample:
    """New products and updates of earlier ones, mixed (every 3rd event is an update); with
    several servers, each event goes to the next one in turn."""
    servers = server if isinstance(server, list) else [server]
    headers = {"Authorization": f"Bearer {servers[0].key}"}
    offset = int(time.time() * 1000) % 10**7

    async def send(client: aiohttp.ClientSession, i: int) -> tuple[int, int]:
        n, revision = (offset + i // 3, i) if i % 3 == 2 else (offset + i, 0)
        url = servers[i % len(servers)].url + "/api/v1/events"
        status, _ = await post(client, url, envelope(n, revision), headers)
        return status, 1

    return await closed_loop(Sample(name), seconds, send)


async def control(server: Server, seconds: float) -> Sample:
    async def send(client: aiohttp.ClientSession, i: int) -> tuple[int, int]:
        status, _ = await post(client, server.url + "/_bench/parse", envelope(i), {})
        return status, 1

    return await closed_loop(Sample("control (parse only)"), seconds, send)


async def dry_runs(server: Server, seconds: float) -> Sample:
    headers = {"Authorization": f"Bearer {server.key}"}

    async def send(client: aiohttp.ClientSession, i: int) -> tuple[int, int]:
        url = server.url + "/api/v1/events?dry_run=true"
        status, _ = await post(client, url, envelope(900000 + i), headers)
        return status, 1

    return await closed_loop(Sample("dry_run product.upsert"), seconds, send)


async def post_batch(client: aiohttp.ClientSession, server: Server, first: int) -> tuple[int, int]:
    """POST new products `first`…`first + BATCH - 1` as one batch; the status and how many
    were applied."""
    events = [envelope(first + j) for j in range(BATCH)]
    headers = {"Authorization": f"Bearer {server.key}"}
    url = server.url + "/api/v1/events/batch"
    status, answer = await post(client, url, {"events": events}, headers)
    return status, answer["summary"]["applied"] if status == 200 else 0


async def batches(
    server: Server, seconds: float, name: str = f"batch ({BATCH} per request)"
) -> Sample:
    async def send(client: aiohttp.ClientSession, i: int) -> tuple[int, int]:
        return await post_batch(client, server, 2_000_000 + i * BATCH)

    return await closed_loop(Sample(name), seconds, send, concurrency=2)


async def unchanged_resends(server: Server, seconds: float) -> Sample:
    """Products applied once (one batch, not timed) sent again as they are, with new event ids
    and a later `occurred_at` (the same for all, so no re-send is stale whatever the order).
    Only answers `unchanged` count as events."""
    async with aiohttp.ClientSession() as client:
        status, applied = await post_batch(client, server, UNCHANGED_FIRST)
    if applied != BATCH:
        raise RuntimeError(f"seeding the unchanged scenario: {status}, {applied} applied")
    headers = {"Authorization": f"Bearer {server.key}"}
    day = 86_400

    async def send(client: aiohttp.ClientSession, i: int) -> tuple[int, int]:
        event = envelope(UNCHANGED_FIRST + i % BATCH, at_second=day)
        status, answer = await post(client, server.url + "/api/v1/events", event, headers)
        return status, int(status == 200 and answer["status"] == "unchanged")

    sample = await closed_loop(Sample("unchanged re-send"), seconds, send)
    if sample.events != sample.statuses.get(200, 0):
        others = sample.statuses.get(200, 0) - sample.events
        print(f"  unchanged re-send: {others} answers 200 were not `unchanged`", file=sys.stderr)
    return sample


async def reads(server: Server, seconds: float, name: str) -> Sample:
    async def send(client: aiohttp.ClientSession, _i: int) -> tuple[int, int]:
        async with client.get(server.url + "/api/v1/courses?limit=10") as response:
            await response.read()
            return response.status, 1

    return await closed_loop(Sample(name), seconds, send, concurrency=1)


async def flood(
    servers: list[Server], seconds: float, offered_rate: int, name: str = "flood"
) -> tuple[Sample, Sample]:
    """One source limited to FLOOD_LIMIT/s sent `offered_rate` events/s (spread evenly over
    `servers`, as a load balancer would), while a client reads from the first."""
    server = servers[0]
    headers = {"Authorization": f"Bearer {server.flood_key}"}
    sample = Sample(f"{name} ({FLOOD_LIMIT}/s limit)")
    connector = aiohttp.TCPConnector(limit=256)
    with generator_gc_paused():
        return await _flood(servers, seconds, offered_rate, headers, sample, connector)


async def _flood(
    servers: list[Server],
    seconds: float,
    offered_rate: int,
    headers: dict[str, str],
    sample: Sample,
    connector: aiohttp.TCPConnector,
) -> tuple[Sample, Sample]:
    server = servers[0]
    async with aiohttp.ClientSession(connector=connector) as client:
        body = json.dumps(envelope(5_000_000)).encode()

        async def one(i: int) -> None:
            started = time.perf_counter()
            data = body.replace(b'"event_id": "ev-', f'"event_id": "fl-{i}-'.encode(), 1)
            url = servers[i % len(servers)].url + "/api/v1/events"
            status, _ = await post(client, url, data, headers)
            sample.record(status, (time.perf_counter() - started) * 1000)

        async def offer() -> None:
            tasks = []
            start = time.monotonic()
            for i in range(int(seconds * offered_rate)):
                due = start + i / offered_rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)
            sample.seconds = time.monotonic() - start

        reader = asyncio.create_task(reads(server, seconds, "reads during the flood"))
        await offer()
        read_sample = await reader
    return sample, read_sample


# --- the server's own figures ------------------------------------------------------------


def lag_buckets(server: Server) -> dict[float, float]:
    """The server's event-loop lag histogram now: upper bound (s) → cumulative count."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    return {
        float(sample.labels["le"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == LAG_METRIC
        for sample in family.samples
        if sample.name == LAG_METRIC + "_bucket"
    }


def lag_p99_ms(before: dict[float, float], after: dict[float, float]) -> float | None:
    """The 99th percentile of the lag samples taken between two readings, interpolated within
    its bucket as Prometheus' `histogram_quantile` does; None without samples."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    rank = 0.99 * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower * 1000
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return (lower + (bound - lower) * share) * 1000
        lower, below = bound, cumulative
    return None


# --- the run -----------------------------------------------------------------------------


def in_process_profile() -> tuple[str, dict[str, str]]:
    """bench/profile.py in a process of its own, before any server runs: its table, and the
    figures of its last line (`na` each, and why on stderr, if it fails)."""
    done = subprocess.run(
        [sys.executable, str(PROFILE)], check=False, stdout=subprocess.PIPE, text=True
    )
    *table, last = done.stdout.strip().splitlines() or [""]
    if done.returncode != 0 or not last.startswith("PROFILE "):
        print(f"bench/profile.py failed (exit {done.returncode}): {last}", file=sys.stderr)
        keys = ("apply_cpu_ms", "update_cpu_ms", "unchanged_cpu_ms", "dry_cpu_ms")
        return "", dict.fromkeys(keys, "na")
    return "\n".join(table), dict(pair.split("=", 1) for pair in last.split()[1:])


def postgres_database() -> tuple[str, Callable[[], None]] | str:
    """A fresh database on the PostgreSQL server and how to drop it, or why there is none."""
    admin = POSTGRES_SERVER.replace("postgresql+psycopg://", "postgresql://")
    name = f"cg_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        return f"PostgreSQL is unreachable at {admin}: {str(error).strip()}"

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return POSTGRES_SERVER.rsplit("/", 1)[0] + "/" + name, drop


async def postgres_scenarios(seconds: float) -> list[Sample]:
    """product.upsert and batches on a fresh PostgreSQL database, dropped at the end; none
    (and why, on stderr) when the server is unreachable."""
    postgres = postgres_database()
    if isinstance(postgres, str):
        print(f"PostgreSQL scenarios not run: {postgres}", file=sys.stderr)
        return []
    url, drop = postgres
    try:
        server = Server(url)
        try:
            name = "product.upsert (PostgreSQL)"
            single = progress(await product_upserts(server, seconds, name))
            return [single, progress(await batches(server, seconds, "batch (PostgreSQL)"))]
        finally:
            server.stop()
    finally:
        drop()


def redis_reachable() -> str | None:
    """None when the bench Redis answers, else why not."""
    try:
        client = redis.Redis.from_url(REDIS_SERVER, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return f"Redis is unreachable at {REDIS_SERVER}: {error}"
    return None


@dataclass
class Scaleout:
    """Two processes on one PostgreSQL database and one Redis."""

    upserts: Sample
    flood: Sample


async def scaleout_scenarios(seconds: float, flood_seconds: float) -> Scaleout | None:
    """product.upsert through two server processes, each event to the next in turn (a
    load balancer), and one source flooding both; None (and why, on stderr) without
    PostgreSQL or Redis."""
    postgres = postgres_database()
    problem = postgres if isinstance(postgres, str) else redis_reachable()
    if problem is not None:
        print(f"scale-out scenarios not run: {problem}", file=sys.stderr)
        if not isinstance(postgres, str):
            postgres[1]()
        return None
    url, drop = postgres
    try:
        first = Server(url, env={"CATALOG_GATEWAY_REDIS_URL": REDIS_SERVER})
        second = None
        try:
            second = Server(url, env={"CATALOG_GATEWAY_REDIS_URL": REDIS_SERVER}, peer=first)
            pair = [first, second]
            upserts = progress(await product_upserts(pair, seconds, "product.upsert (2 processes)"))
            flooded, _reads = await flood(pair, flood_seconds, FLOOD_OFFERED, "flood (2 processes)")
            return Scaleout(upserts, progress(flooded))
        finally:
            first.stop()
            if second is not None:
                second.stop()
    finally:
        drop()


def progress(sample: Sample) -> Sample:
    """Report a finished scenario on stderr (the table comes at the end, on stdout)."""
    print(f"  {sample.name}: {sample.rate:.1f}/s over {sample.seconds:.1f} s", file=sys.stderr)
    return sample


def rate(sample: Sample | None) -> str:
    """A scenario's events/s for the RESULT line, `na` when it did not run."""
    return "na" if sample is None else f"{sample.rate:.1f}"


def row(sample: Sample) -> str:
    ok = sample.statuses.get(200, 0)
    others = {s: c for s, c in sample.statuses.items() if s != 200}
    return (
        f"| {sample.name:<32} | {sample.rate:>9.1f} | {sample.percentile(50):>8.1f} | "
        f"{sample.percentile(99):>8.1f} | {ok:>7} | {others or '-'} |"
    )


async def main(quick: bool) -> None:
    seconds = 5.0 if quick else 20.0
    flood_seconds = 3.0 if quick else 10.0
    rows: list[Sample] = []
    print("in-process profile (bench/profile.py)", file=sys.stderr)
    profile_table, cpu_ms = in_process_profile()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(f"sqlite:///{folder}/bench.db")
        try:
            control_sample = progress(await control(server, seconds))
            single = progress(await product_upserts(server, seconds, "product.upsert (SQLite)"))
            batch = progress(await batches(server, seconds))
            dry = progress(await dry_runs(server, seconds))
            unchanged = progress(await unchanged_resends(server, seconds))
            idle = progress(await reads(server, flood_seconds, "reads, idle"))
            rss_before, lag_before = server.rss_mb(), lag_buckets(server)
            flooded, during = await flood([server], flood_seconds, FLOOD_OFFERED)
            rss_after, lag_after = server.rss_mb(), lag_buckets(server)
        finally:
            server.stop()
    rows += [control_sample, single, batch, dry, unchanged, idle, flooded, during]
    on_postgres = await postgres_scenarios(seconds)
    rows += on_postgres
    pg_single, pg_batch = on_postgres or (None, None)
    scaleout = await scaleout_scenarios(seconds, flood_seconds)
    if scaleout is not None:
        rows += [scaleout.upserts, scaleout.flood]
    flood_lag = lag_p99_ms(lag_before, lag_after)

    if profile_table:
        print(profile_table + "\n")
    print(f"machine: {os.cpu_count()} cores; quick={quick}; concurrency={CONCURRENCY}")
    print(
        "| scenario                         | events/s  | p50 ms   | p99 ms   | 200s    | other |"
    )
    print("|---|---|---|---|---|---|")
    for sample in rows:
        print(row(sample))
    accepted = flooded.statuses.get(200, 0) / flooded.seconds
    scaleout_fields = "scaleout_eps=na scaleout_ratio=na scaleout_limit_ratio=na"
    if scaleout is not None:
        across = scaleout.flood.statuses.get(200, 0) / scaleout.flood.seconds / FLOOD_LIMIT
        versus = f"{scaleout.upserts.rate / pg_single.rate:.2f}" if pg_single else "na"
        scaleout_fields = (
            f"scaleout_eps={scaleout.upserts.rate:.1f} scaleout_ratio={versus} "
            f"scaleout_limit_ratio={across:.3f}"
        )
    five_xx = sum(c for s, c in flooded.statuses.items() if s >= 500)
    five_xx += sum(c for s, c in during.statuses.items() if s >= 500)
    idle_p99 = idle.percentile(99) or 1e-9
    print(
        f"flood: offered {FLOOD_OFFERED}/s for {flood_seconds:.0f} s, accepted {accepted:.1f}/s, "
        f"429 p99 {flooded.percentile(99, 429):.1f} ms, reads p99 {during.percentile(99):.1f} ms "
        f"(idle {idle.percentile(99):.1f} ms), RSS {rss_before:.1f} → {rss_after:.1f} MB, "
        f"event-loop lag p99 {'na' if flood_lag is None else f'{flood_lag:.1f}'} ms"
    )
    print(
        "RESULT "
        f"product_upsert_eps={single.rate:.1f} control_rps={control_sample.rate:.1f} "
        f"ratio={single.rate / control_sample.rate:.3f} p99_ms={single.percentile(99):.1f} "
        f"batch_eps={batch.rate:.1f} dry_run_eps={dry.rate:.1f} "
        f"flood_accepted_ratio={accepted / FLOOD_LIMIT:.3f} "
        f"flood_429_p99_ms={flooded.percentile(99, 429):.1f} "
        f"read_p99_ratio={during.percentile(99) / idle_p99:.2f} flood_5xx={five_xx} "
        f"rss_growth_mb={rss_after - rss_before:.1f} "
        + " ".join(f"{key}={value}" for key, value in cpu_ms.items())
        + f" pg_upsert_eps={rate(pg_single)} pg_batch_eps={rate(pg_batch)} "
        f"unchanged_eps={unchanged.rate:.1f} {scaleout_fields} "
        f"loop_lag_p99_ms={'na' if flood_lag is None else f'{flood_lag:.1f}'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes in all)")
    asyncio.run(main(parser.parse_args().quick))
