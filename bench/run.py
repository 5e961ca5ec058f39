"""Benchmarks of Catalog Gateway: in process, then against a real server process on loopback.

    python bench/run.py            # full: ~20 s per scenario
    python bench/run.py --quick    # the same scenarios, short (a few minutes in all)

First bench/profile.py runs in its own process (CPU ms per event, in process, on SQLite).
Then every HTTP scenario runs against `catalog-gateway serve` started here in its own process,
on a fresh database (SQLite, then PostgreSQL when reachable), and is measured in the same run
as a control endpoint that only parses a body of the same size (the HTTP stack's ceiling on
this machine). The load generator (aiohttp) runs on the same machine and competes for its
cores: figures are for the pair, not the server alone. The last line printed is one
`RESULT key=value ...` line (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg

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
    """`catalog-gateway serve` on a fresh database, with two sources."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "CATALOG_GATEWAY_DATABASE_URL": database_url,
            "CATALOG_GATEWAY_BENCH_CONTROL": "true",
            "CATALOG_GATEWAY_READ_RATE": "100000/second",
            "CATALOG_GATEWAY_READ_BURST": "100000",
        }
        self.url = f"http://127.0.0.1:{self.port}"
        run_cli(self.env, "db", "upgrade")
        run_cli(self.env, "organizations", "create", "MITx", "--name", "MIT")
        self.key = self._source("bench", "1000000/second", 1000000)
        self.flood_key = self._source("flood", "100/second", 100)
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


async def closed_loop(
    sample: Sample, seconds: float, send: Send, concurrency: int = CONCURRENCY
) -> Sample:
    """`concurrency` clients sending back to back for `seconds`."""
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
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


async def product_upserts(server: Server, seconds: float, name: str) -> Sample:
    """New products and updates of earlier ones, mixed (every 3rd event is an update)."""
    headers = {"Authorization": f"Bearer {server.key}"}
    offset = int(time.time() * 1000) % 10**7

    async def send(client: aiohttp.ClientSession, i: int) -> tuple[int, int]:
        n, revision = (offset + i // 3, i) if i % 3 == 2 else (offset + i, 0)
        status, _ = await post(
            client, server.url + "/api/v1/events", envelope(n, revision), headers
        )
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


async def flood(server: Server, seconds: float, offered_rate: int) -> tuple[Sample, Sample]:
    """One source limited to 100/s sent `offered_rate` events/s, while a client reads."""
    headers = {"Authorization": f"Bearer {server.flood_key}"}
    sample = Sample("flood (100/s limit)")
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as client:
        body = json.dumps(envelope(5_000_000)).encode()

        async def one(i: int) -> None:
            started = time.perf_counter()
            data = body.replace(b'"event_id": "ev-', f'"event_id": "fl-{i}-'.encode(), 1)
            status, _ = await post(client, server.url + "/api/v1/events", data, headers)
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
            rss_before = server.rss_mb()
            flooded, during = await flood(server, flood_seconds, 2000)
            rss_after = server.rss_mb()
        finally:
            server.stop()
    rows += [control_sample, single, batch, dry, unchanged, idle, flooded, during]
    on_postgres = await postgres_scenarios(seconds)
    rows += on_postgres
    pg_single, pg_batch = on_postgres or (None, None)

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
    five_xx = sum(c for s, c in flooded.statuses.items() if s >= 500)
    five_xx += sum(c for s, c in during.statuses.items() if s >= 500)
    idle_p99 = idle.percentile(99) or 1e-9
    print(
        f"flood: offered 2000/s for {flood_seconds:.0f} s, accepted {accepted:.1f}/s, "
        f"429 p99 {flooded.percentile(99, 429):.1f} ms, reads p99 {during.percentile(99):.1f} ms "
        f"(idle {idle.percentile(99):.1f} ms), RSS {rss_before:.1f} → {rss_after:.1f} MB"
    )
    print(
        "RESULT "
        f"product_upsert_eps={single.rate:.1f} control_rps={control_sample.rate:.1f} "
        f"ratio={single.rate / control_sample.rate:.3f} p99_ms={single.percentile(99):.1f} "
        f"batch_eps={batch.rate:.1f} dry_run_eps={dry.rate:.1f} "
        f"flood_accepted_ratio={accepted / 100:.3f} "
        f"flood_429_p99_ms={flooded.percentile(99, 429):.1f} "
        f"read_p99_ratio={during.percentile(99) / idle_p99:.2f} flood_5xx={five_xx} "
        f"rss_growth_mb={rss_after - rss_before:.1f} "
        + " ".join(f"{key}={value}" for key, value in cpu_ms.items())
        + f" pg_upsert_eps={rate(pg_single)} pg_batch_eps={rate(pg_batch)} "
        f"unchanged_eps={unchanged.rate:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes in all)")
    asyncio.run(main(parser.parse_args().quick))
