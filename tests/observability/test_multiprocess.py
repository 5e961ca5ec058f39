"""Metrics of several server processes, from real `catalog-gateway serve` processes.

- Two processes that share a `PROMETHEUS_MULTIPROC_DIR` each answer a scrape with the sum of
  both processes' counts.
- `serve --workers 2` sets such a directory up by itself (a temporary one, removed when it
  stops): every event is counted whichever worker answered it, and every scrape sees all.

Their standard error is a file, not a terminal: every line the servers write is JSON (uvicorn's
own lines included), and none holds the key.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import upgrade
from tests.factories import bearer, free_port, url_of
from tests.observability.conftest import Samples
from tests.protection.conftest import add_source, instructor_event
from tests.protection.test_redis_shared_limits import STARTUP_SECONDS, two_servers
from tests.servers import CLI, stop_gateway, wait_until_answering

APPLIED = {"source": "exec-ed", "event_type": "instructor.upsert", "status": "applied"}
REJECTED = APPLIED | {"status": "rejected"}
EVENTS = "catalog_gateway_events_total"


@pytest.fixture
def shared_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite file the server processes share."""
    database = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    upgrade(database)
    yield database
    database.dispose()


def _environment(database: Database, **variables: str) -> dict[str, str]:
    """This environment without any gateway or metrics setting, then `variables`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CATALOG_GATEWAY_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["CATALOG_GATEWAY_DATABASE_URL"] = url_of(database)
    return env | variables


def _send(url: str, event_id: str, key: str, **changes: str) -> int:
    """One event, on a connection of its own (so that any worker may take it)."""
    event = instructor_event(event_id, f"in-{event_id}", **changes)
    return httpx.post(
        f"{url}/api/v1/events", json=event, headers=bearer(key), timeout=10
    ).status_code


def _scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return Samples(response.text)


def _assert_json_lines_without(log: Path, secret: str) -> list[dict[str, Any]]:
    text = log.read_text()
    assert secret not in text
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_two_processes_sharing_a_metrics_directory_each_report_the_sum(
    tmp_path: Path, shared_database: Database
) -> None:
    key = add_source(shared_database, "exec-ed")
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = _environment(shared_database, PROMETHEUS_MULTIPROC_DIR=str(directory))

    with two_servers(tmp_path, env) as (first, second):
        sent = [
            _send(first, "e-1", key),
            _send(first, "e-2", key),
            _send(second, "e-3", key),
            _send(second, "e-4", key, given_name=""),
        ]
        scrapes = [_scrape(first), _scrape(second)]

    assert sent == [200, 200, 200, 422]
    for samples in scrapes:
        assert samples(EVENTS, **APPLIED) == 3
        assert samples(EVENTS, **REJECTED) == 1
        assert samples("catalog_gateway_step_duration_seconds_count", step="validate") == 4
    for name in ("first", "second"):
        lines = _assert_json_lines_without(tmp_path / f"{name}.log", key)
        assert [line["event_id"] for line in lines if line["event"] == "event"] == (
            ["e-1", "e-2"] if name == "first" else ["e-3", "e-4"]
        )
        assert any(line.get("logger", "").startswith("uvicorn") for line in lines)


def test_serve_with_two_workers_counts_every_event_whichever_worker_answers(
    tmp_path: Path, shared_database: Database
) -> None:
    key = add_source(shared_database, "exec-ed")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=_environment(shared_database, TMPDIR=str(temporary)),
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_answering(url, process, log, "/health", STARTUP_SECONDS)
        directories = list(temporary.glob("catalog-gateway-metrics-*"))
        sent = [_send(url, f"e-{n}", key) for n in range(6)]
        scrapes = [_scrape(url) for _ in range(4)]
    finally:
        stop_gateway(process)

    assert len(directories) == 1, "serve --workers 2 did not set up a metrics directory"
    assert sent == [200] * 6
    assert [samples(EVENTS, **APPLIED) for samples in scrapes] == [6] * 4
    assert not directories[0].exists(), "the metrics directory outlived the server"
    _assert_json_lines_without(log, key)
