"""`catalog-gateway events replay` resumes a failed event from the log, talking to the
reference ecommerce server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from catalog_gateway.cli import app as cli
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import get_settings
from tests.ecommerce.conftest import GatewayFactory
from tests.ecommerce.payloads import RUN_KEYS, envelope, product_payload
from tests.ecommerce.server import Ecommerce, by_class
from tests.ecommerce.support import Gateway, runs_by_key
from tests.factories import url_of


@pytest.fixture
def cli_env(database: Database, ecommerce_url: str) -> Iterator[dict[str, str]]:
    """The environment the command line reads its settings from."""
    get_settings.cache_clear()
    yield {
        "CATALOG_GATEWAY_DATABASE_URL": url_of(database),
        "CATALOG_GATEWAY_ECOMMERCE_URL": ecommerce_url,
        "CATALOG_GATEWAY_ECOMMERCE_BUDGET_SECONDS": "1",
    }
    get_settings.cache_clear()


def test_replay_resumes_a_failed_event_and_publishes_the_runs(
    make_gateway: GatewayFactory, ecommerce: Ecommerce, cli_env: dict[str, str]
) -> None:
    gateway = make_gateway(ecommerce_budget_seconds=0.5, ecommerce_breaker_failures=1000)
    ecommerce.fault(status=500)
    response = gateway.send(envelope("evt-1", product_payload()))
    assert response.status_code == 502, response.text
    assert response.json()["retryable"] is True
    ecommerce.clear_faults()

    result = CliRunner().invoke(
        cli, ["events", "replay", "evt-1", "--source", "exec-ed"], env=cli_env
    )

    assert result.exit_code == 0, result.output
    assert "event evt-1: applied" in result.output
    course = gateway.course()
    assert course is not None
    for run_key, run in runs_by_key(course).items():
        assert run["status"] == "published"
        (seat,) = by_class(ecommerce.products(run_key), "Seat")
        assert run["seats"][0]["sku"] == seat["partner_sku"]
        assert run["seats"][0]["sku"] is not None
    assert sorted(runs_by_key(course)) == sorted(RUN_KEYS)
    record = gateway.event("evt-1").json()
    assert (record["status"], record["attempts"]) == ("applied", 2)

    # An applied event is not replayed again.
    again = CliRunner().invoke(
        cli, ["events", "replay", "evt-1", "--source", "exec-ed"], env=cli_env
    )
    assert again.exit_code == 1
    assert "only events that failed retryably, or in progress past their lease" in again.output
    for run_key in RUN_KEYS:
        assert len(by_class(ecommerce.products(run_key), "Seat")) == 1


def test_replay_while_ecommerce_still_fails_exits_1_and_keeps_the_event_resumable(
    make_gateway: GatewayFactory, ecommerce: Ecommerce, cli_env: dict[str, str]
) -> None:
    gateway = make_gateway(ecommerce_budget_seconds=0.5, ecommerce_breaker_failures=1000)
    ecommerce.fault(status=503)
    assert gateway.send(envelope("evt-1", product_payload())).status_code == 502

    result = CliRunner().invoke(
        cli, ["events", "replay", "evt-1", "--source", "exec-ed"], env=cli_env
    )

    assert result.exit_code == 1, result.output
    assert "event evt-1: failed" in result.output
    assert "ecommerce_unavailable" in result.output
    record = gateway.event("evt-1").json()
    assert (record["status"], record["retryable"], record["attempts"]) == ("failed", True, 2)
    course = gateway.course()
    assert course is not None
    assert {run["status"] for run in course["course_runs"]} == {"unpublished"}


def _left_in_progress(database: Database, event_id: str, claimed_ago: timedelta) -> None:
    """The record as a process that died after the catalog commit, during its ecommerce calls,
    leaves it: `in_progress`, claimed `claimed_ago`."""
    with database.unit_of_work() as session:
        session.execute(
            update(EventRecord)
            .where(EventRecord.event_id == event_id)
            .values(status="in_progress", retryable=False, updated_at=utcnow() - claimed_ago)
        )


@pytest.fixture
def failing_gateway(make_gateway: GatewayFactory, ecommerce: Ecommerce) -> Gateway:
    """A gateway whose ecommerce answers 503 (each event fails at its publication, 502)."""
    ecommerce.fault(status=503)
    return make_gateway(ecommerce_budget_seconds=0.5, ecommerce_breaker_failures=1000)


def test_replay_takes_over_an_event_left_in_progress_past_its_lease(
    failing_gateway: Gateway, ecommerce: Ecommerce, cli_env: dict[str, str], database: Database
) -> None:
    gateway = failing_gateway
    assert gateway.send(envelope("evt-1", product_payload())).status_code == 502
    ecommerce.clear_faults()
    _left_in_progress(database, "evt-1", claimed_ago=timedelta(minutes=10))  # lease: 2 min

    result = CliRunner().invoke(
        cli, ["events", "replay", "evt-1", "--source", "exec-ed"], env=cli_env
    )

    assert result.exit_code == 0, result.output
    assert "event evt-1: applied" in result.output
    record = gateway.event("evt-1").json()
    assert (record["status"], record["attempts"]) == ("applied", 2)
    course = gateway.course()
    assert course is not None
    assert sorted(run["status"] for run in runs_by_key(course).values()) == ["published"] * 2


def test_replay_refuses_an_event_in_progress_within_its_lease_and_says_until_when(
    failing_gateway: Gateway, cli_env: dict[str, str], database: Database
) -> None:
    gateway = failing_gateway
    assert gateway.send(envelope("evt-1", product_payload())).status_code == 502
    _left_in_progress(database, "evt-1", claimed_ago=timedelta(seconds=5))

    result = CliRunner().invoke(
        cli, ["events", "replay", "evt-1", "--source", "exec-ed"], env=cli_env
    )

    assert result.exit_code == 1, result.output
    assert "event evt-1 is in_progress, claimed at " in result.output
    assert "it can be replayed once its lease ends at " in result.output
    assert gateway.event("evt-1").json()["status"] == "in_progress"


def test_events_list_stuck_shows_only_events_in_progress_past_their_lease(
    failing_gateway: Gateway, cli_env: dict[str, str], database: Database
) -> None:
    gateway = failing_gateway
    for event_id in ("stuck-1", "fresh-1", "failed-1"):
        payload = product_payload(external_id=f"xe-{event_id}", number=event_id.upper())
        assert gateway.send(envelope(event_id, payload)).status_code == 502
    _left_in_progress(database, "stuck-1", claimed_ago=timedelta(minutes=10))
    _left_in_progress(database, "fresh-1", claimed_ago=timedelta(seconds=5))

    stuck = CliRunner().invoke(cli, ["events", "list", "--stuck", "--json"], env=cli_env)
    table = CliRunner().invoke(cli, ["events", "list", "--stuck"], env=cli_env)
    failed = CliRunner().invoke(
        cli, ["events", "list", "--status", "failed", "--source", "exec-ed", "--json"], env=cli_env
    )
    unknown = CliRunner().invoke(cli, ["events", "list", "--source", "nope"], env=cli_env)

    assert stuck.exit_code == 0, stuck.output
    (row,) = json.loads(stuck.output)["events"]
    assert (row["event_id"], row["source"], row["status"], row["attempts"]) == (
        "stuck-1",
        "exec-ed",
        "in_progress",
        1,
    )
    assert table.output.splitlines()[0].split() == [
        "event_id", "source", "event_type", "status", "retryable", "attempts", "updated"
    ]  # fmt: skip
    assert [line.split()[0] for line in table.output.splitlines()[1:]] == ["stuck-1"]
    assert [r["event_id"] for r in json.loads(failed.output)["events"]] == ["failed-1"]
    assert unknown.exit_code == 1
    assert "no source 'nope'" in unknown.output
