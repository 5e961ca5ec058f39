"""`catalog-gateway ingest` against the real service on loopback: formats, summaries, reports,
idempotent re-runs, rejections, throttling, dry runs, refused input, and concurrent lanes."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog_gateway.ingest import sender
from catalog_gateway.ingest.answers import Reply
from catalog_gateway.ingest.client import GatewayClient, GatewayUnavailableError, SplitNeeded
from tests.ingest.conftest import (
    Gateway,
    GatewayFactory,
    course_key,
    product,
    read_report,
    write_json,
    write_jsonl,
)

SUCCESS = {"applied", "unchanged"}


def set_mtime(path: Path, moment: datetime) -> Path:
    """Give the file a modification time (its events' occurred_at)."""
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    return path


def test_a_json_list_of_products_is_applied_and_summarised(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = write_json(tmp_path / "catalog.json", [product(1), product(2), product(3)])

    result = gateway.ingest(file)

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "│ applied   │      3 │" in result.stdout
    assert "│ total     │      3 │" in result.stdout
    for number in (1, 2, 3):
        assert gateway.existing_course(course_key(number))["title"] == f"Data Science {number}"


def test_json_lines_are_one_event_per_line_blank_lines_skipped(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = tmp_path / "catalog.jsonl"
    file.write_text(f"{json.dumps(product(1))}\n\n{json.dumps(product(2))}\n")
    report = tmp_path / "report.json"

    result = gateway.ingest(file, "--report", str(report))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    events = read_report(report)["events"]
    assert [(e["where"], e["status"]) for e in events] == [
        ("line 1", "applied"),
        ("line 3", "applied"),
    ]


def test_the_product_api_envelope_is_sent_as_its_products(gateway: Gateway, tmp_path: Path) -> None:
    file = write_json(tmp_path / "export.json", {"products": [product(1), product(2)]})

    result = gateway.ingest(file)

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert gateway.course(course_key(1)) is not None
    assert gateway.course(course_key(2)) is not None


def test_sending_the_same_file_again_writes_nothing_new(gateway: Gateway, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1), product(2)])
    first_report, second_report = tmp_path / "first.json", tmp_path / "second.json"
    assert gateway.ingest(file, "--report", str(first_report)).exit_code == 0
    events_before = gateway.event_count()
    modified_before = [gateway.existing_course(course_key(n))["modified"] for n in (1, 2)]

    result = gateway.ingest(file, "--report", str(second_report))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    first, second = read_report(first_report)["events"], read_report(second_report)["events"]
    assert [e["event_id"] for e in second] == [e["event_id"] for e in first]
    assert {e["status"] for e in second} == {"unchanged"}  # stored answers, sent again
    assert gateway.event_count() == events_before
    assert [gateway.existing_course(course_key(n))["modified"] for n in (1, 2)] == modified_before


def test_a_rejected_event_is_reported_with_its_line_and_source_path(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1), product(2, title="")])

    result = gateway.ingest(file)

    assert result.exit_code == 1
    assert "│ applied   │      1 │" in result.stdout
    assert "│ rejected  │      1 │" in result.stdout
    assert "line 2 [rejected] /course/title required: " in result.stdout
    assert gateway.course(course_key(1)) is not None
    assert gateway.course(course_key(2)) is None


def test_the_report_lists_every_event_with_where_status_and_errors(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1), product(2, course_type="nope")])
    report_file = tmp_path / "report.json"

    result = gateway.ingest(file, "--report", str(report_file))

    assert result.exit_code == 1
    report = read_report(report_file)
    assert report["source"] == "exec-ed"
    assert report["format"] == "jsonl"
    assert report["dry_run"] is False
    assert report["summary"]["applied"] == 1
    assert report["summary"]["rejected"] == 1
    applied, rejected = report["events"]
    assert applied["where"] == "line 1"
    assert applied["event_id"].startswith("ingest-")
    assert applied["http_status"] == 200
    assert applied["products"]["courses"] == [course_key(1)]
    assert rejected["where"] == "line 2"
    assert rejected["status"] == "rejected"
    (error,) = rejected["errors"]
    assert error["code"] == "unknown_course_type"
    assert error["source_path"] == "/course/course_type"
    assert error["where"] == "line 2"
    assert error["message"]


def test_a_tiny_rate_limit_is_waited_out_and_every_event_applies(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(n) for n in range(1, 11)])

    result = gateway.ingest(file, source="trickle")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "│ applied   │     10 │" in result.stdout
    assert all(gateway.course(course_key(n)) is not None for n in range(1, 11))


def test_a_batch_over_the_body_limit_is_split_until_it_fits(
    serve_gateway: GatewayFactory, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(n) for n in range(1, 7)])
    assert file.stat().st_size > 16_000

    with serve_gateway(max_batch_body_bytes=8_000) as gateway:
        result = gateway.ingest(file)

        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert "│ applied   │      6 │" in result.stdout


def test_a_dry_run_plans_every_event_and_writes_nothing(gateway: Gateway, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1), product(2)])

    result = gateway.ingest(file, "--dry-run")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "│ planned   │      2 │" in result.stdout
    assert gateway.course(course_key(1)) is None
    assert gateway.event_count() == 0


def test_a_csv_is_sent_as_one_event_per_product_with_its_rows(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = tmp_path / "catalog.csv"
    file.write_text(
        "Organization,Number,Title,Start Date\n"
        "MIT,DS101,Data Science,2027-02-01\n"
        "MIT,DS101,Data Science,2027-06-01\n"
        "MIT,DS102,Leading with Data,2027-03-01\n"
    )
    report_file = tmp_path / "report.json"

    # the canonical transformer does not read rows: a dry run shows what was sent, nothing more
    result = gateway.ingest(file, "--dry-run", "--report", str(report_file))

    assert result.exit_code == 1
    events = read_report(report_file)["events"]
    assert [(e["where"], e["status"]) for e in events] == [
        ("rows 2\u20133", "rejected"),
        ("row 4", "rejected"),
    ]
    assert gateway.event_count() == 0


def test_envelopes_in_the_file_keep_their_own_event_ids(gateway: Gateway, tmp_path: Path) -> None:
    envelope = {
        "event_id": "exec-ed-0001",
        "event_type": "product.upsert",
        "occurred_at": "2026-11-28T10:00:00Z",
        "payload": product(1),
    }
    file = write_jsonl(tmp_path / "catalog.jsonl", [envelope, product(2)])
    report_file = tmp_path / "report.json"

    result = gateway.ingest(file, "--report", str(report_file))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    first, second = read_report(report_file)["events"]
    assert first["event_id"] == "exec-ed-0001"
    assert second["event_id"].startswith("ingest-")


def test_an_older_file_sent_after_a_newer_one_is_stale_for_what_changed(
    gateway: Gateway, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    newer = set_mtime(write_jsonl(tmp_path / "newer.jsonl", [product(1)]), now)
    older = set_mtime(
        write_jsonl(tmp_path / "older.jsonl", [product(1, title="Old title")]),
        now - timedelta(days=1),
    )
    assert gateway.ingest(newer).exit_code == 0

    result = gateway.ingest(older)

    assert result.exit_code == 1
    assert "│ stale     │      1 │" in result.stdout
    assert gateway.existing_course(course_key(1))["title"] == "Data Science 1"


def test_malformed_input_is_refused_naming_the_line_and_nothing_is_sent(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = tmp_path / "catalog.jsonl"
    file.write_text(f"{json.dumps(product(1))}\n{{not json\n")

    result = gateway.ingest(file)

    assert result.exit_code == 2
    assert "catalog.jsonl: line 2: not valid JSON" in result.stderr
    assert gateway.event_count() == 0
    assert gateway.course(course_key(1)) is None


def test_a_product_csv_without_organization_and_number_is_refused(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = tmp_path / "catalog.csv"
    file.write_text("Title,Start Date\nData Science,2027-02-01\n")

    result = gateway.ingest(file)

    assert result.exit_code == 2
    assert "no `organization` or `number` column" in result.stderr


def test_a_key_of_another_source_is_refused_before_anything_is_sent(
    gateway: Gateway, tmp_path: Path
) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1)])

    result = gateway.ingest(file, "--key", gateway.keys["bootcamps"])

    assert result.exit_code == 2
    assert "the key does not belong to source exec-ed" in result.stderr
    assert gateway.event_count() == 0


def test_the_key_is_required(gateway: Gateway, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1)])

    result = gateway.ingest(file, "--key", "")

    assert result.exit_code == 2
    assert "no API key: give --key or set CATALOG_GATEWAY_API_KEY" in result.stderr


# --- --concurrency: lanes ------------------------------------------------------------------

Sent = list[tuple[bool, list[str]]]  # (dry run, the event ids of one request)


def record_batches(monkeypatch: pytest.MonkeyPatch, slow_title: str | None = None) -> Sent:
    """Every batch ingest sends, as it is sent; a real (not dry-run) batch holding a product
    titled `slow_title` waits half a second before it is sent."""
    sent: Sent = []
    post_batch = GatewayClient.post_batch

    async def recorded(
        self: GatewayClient, envelopes: list[dict[str, Any]], *, dry_run: bool = False
    ) -> list[Reply] | SplitNeeded:
        sent.append((dry_run, [envelope["event_id"] for envelope in envelopes]))
        titles = {envelope["payload"]["course"]["title"] for envelope in envelopes}
        if not dry_run and slow_title in titles:
            await asyncio.sleep(0.5)
        return await post_batch(self, envelopes, dry_run=dry_run)

    monkeypatch.setattr(GatewayClient, "post_batch", recorded)
    return sent


def test_concurrent_batches_keep_a_product_s_versions_in_file_order(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first version of product 1 is held up in its batch: the last one still wins."""
    monkeypatch.setattr(sender, "BATCH_MAX_EVENTS", 1)
    record_batches(monkeypatch, slow_title="Data Science 1")
    versions = [product(1), product(2), product(3), product(1, title="Data Science, renamed")]
    file = write_jsonl(tmp_path / "catalog.jsonl", versions)

    result = gateway.ingest(file, "--concurrency", "4")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "│ applied   │      4 │" in result.stdout
    assert "warning" not in result.stderr
    assert gateway.existing_course(course_key(1))["title"] == "Data Science, renamed"


def test_concurrency_sends_each_event_once_after_naming_them_all(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "BATCH_MAX_EVENTS", 2)
    sent = record_batches(monkeypatch)
    versions = [product(1), product(2), product(3), product(1, title="Data Science, renamed")]
    file = write_jsonl(tmp_path / "catalog.jsonl", [*versions, product(4)])
    report = tmp_path / "report.json"

    result = gateway.ingest(file, "--concurrency", "4", "--report", str(report))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    event_ids = [event["event_id"] for event in read_report(report)["events"]]
    assert len(set(event_ids)) == 5
    named = [ids for dry_run, ids in sent if dry_run]
    applied = [ids for dry_run, ids in sent if not dry_run]
    assert sent[: len(named)] == [(True, ids) for ids in named]  # every name learnt first
    assert sorted(i for ids in named for i in ids) == sorted(event_ids)
    assert sorted(i for ids in applied for i in ids) == sorted(event_ids)
    # lanes [line 1, line 4], [line 2], [line 3], [line 5]: a batch never mixes lanes
    assert sorted(applied) == sorted(
        [[event_ids[0], event_ids[3]], *([i] for i in event_ids[1:3]), [event_ids[4]]]
    )
    assert gateway.event_count() == 5


def test_concurrency_1_sends_in_one_lane_without_a_naming_pass(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "BATCH_MAX_EVENTS", 2)
    sent = record_batches(monkeypatch)
    versions = [product(1), product(2), product(3), product(1, title="Data Science, renamed")]
    file = write_jsonl(tmp_path / "catalog.jsonl", versions)
    report = tmp_path / "report.json"

    result = gateway.ingest(file, "--concurrency", "1", "--report", str(report))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    event_ids = [event["event_id"] for event in read_report(report)["events"]]
    assert sent == [(False, event_ids[:2]), (False, event_ids[2:])]
    assert gateway.existing_course(course_key(1))["title"] == "Data Science, renamed"
    assert gateway.event_count() == 4


def test_a_dry_run_with_concurrency_makes_no_naming_pass(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_batches(monkeypatch)
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1), product(2), product(1)])

    result = gateway.ingest(file, "--dry-run", "--concurrency", "4")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert [dry_run for dry_run, _ids in sent] == [True]  # one batch, planned once
    assert gateway.event_count() == 0


def test_an_older_gateway_that_names_nothing_gets_the_file_in_one_lane(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "BATCH_MAX_EVENTS", 1)
    post_batch = GatewayClient.post_batch
    sent: Sent = []

    async def unnamed(
        self: GatewayClient, envelopes: list[dict[str, Any]], *, dry_run: bool = False
    ) -> list[Reply] | SplitNeeded:
        sent.append((dry_run, [envelope["event_id"] for envelope in envelopes]))
        replies = await post_batch(self, envelopes, dry_run=dry_run)
        assert not isinstance(replies, SplitNeeded)
        for reply in replies:
            if reply.answer is not None:
                reply.answer.names = None  # as an answer without `names` reads
        return replies

    monkeypatch.setattr(GatewayClient, "post_batch", unnamed)
    versions = [product(1), product(2), product(1, title="Data Science, renamed")]
    file = write_jsonl(tmp_path / "catalog.jsonl", versions)
    report = tmp_path / "report.json"

    result = gateway.ingest(file, "--concurrency", "4", "--report", str(report))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "the gateway does not name events in its dry-run answers" in result.stderr
    event_ids = [event["event_id"] for event in read_report(report)["events"]]
    assert [dry_run for dry_run, _ids in sent[:3]] == [True] * 3
    assert sent[3:] == [(False, [event_id]) for event_id in event_ids]  # one lane, in order
    assert gateway.existing_course(course_key(1))["title"] == "Data Science, renamed"


def test_a_naming_pass_that_cannot_reach_the_gateway_sends_nothing(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(
        self: GatewayClient, envelopes: list[dict[str, Any]], *, dry_run: bool = False
    ) -> list[Reply] | SplitNeeded:
        assert dry_run, "only the naming pass may be sent"
        raise GatewayUnavailableError("cannot reach the gateway (test)")

    monkeypatch.setattr(GatewayClient, "post_batch", unreachable)
    file = write_jsonl(tmp_path / "catalog.jsonl", [product(1), product(2)])
    report = tmp_path / "report.json"

    result = gateway.ingest(file, "--concurrency", "4", "--report", str(report))

    assert result.exit_code == 1
    assert "│ failed    │      2 │" in result.stdout
    assert "error: cannot reach the gateway (test)" in result.stderr
    events = read_report(report)["events"]
    assert [(e["status"], e["failure"]) for e in events] == [
        ("failed", "not sent: cannot reach the gateway (test)")
    ] * 2
    assert gateway.event_count() == 0
