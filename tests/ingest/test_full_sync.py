"""`ingest --full-sync`: the file is the source's whole catalog; what it no longer holds is
retired, but only after every event succeeded and the retirement was confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.conftest import Gateway, course_key, product, read_report, write_jsonl


def status_of(gateway: Gateway, number: int) -> str:
    """The product status of course `number` (`published` or `archived`)."""
    status: str = gateway.existing_course(course_key(number))["product_status"]
    return status


@pytest.fixture
def three_products(gateway: Gateway, tmp_path: Path) -> Gateway:
    """Products 1, 2 and 3 applied from a first file."""
    first = write_jsonl(tmp_path / "monday.jsonl", [product(1), product(2), product(3)])
    assert gateway.ingest(first).exit_code == 0
    return gateway


def test_a_product_missing_from_the_file_is_retired(
    three_products: Gateway, tmp_path: Path
) -> None:
    gateway = three_products
    second = write_jsonl(tmp_path / "tuesday.jsonl", [product(1), product(2)])
    report_file = tmp_path / "report.json"

    result = gateway.ingest(second, "--full-sync", "--yes", "--report", str(report_file))

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert [status_of(gateway, n) for n in (1, 2, 3)] == ["published", "published", "archived"]
    sync = read_report(report_file)["full_sync"]
    assert sync["status"] == "retired"
    assert sync["products"] == [
        {"kind": "courses", "label": course_key(3), "external_id": "xe-7103"}
    ]
    (retirement,) = sync["events"]
    assert retirement["event_type"] == "product.retire"
    assert retirement["status"] == "applied"


def test_nothing_is_retired_when_an_event_did_not_succeed(
    three_products: Gateway, tmp_path: Path
) -> None:
    gateway = three_products
    second = write_jsonl(tmp_path / "tuesday.jsonl", [product(1), product(2, title="")])

    result = gateway.ingest(second, "--full-sync", "--yes")

    assert result.exit_code == 1
    assert "full sync refused: 1 of 2 events did not succeed (1 rejected)" in result.stderr
    assert [status_of(gateway, n) for n in (1, 2, 3)] == ["published"] * 3


def test_a_dry_run_shows_what_would_be_retired_and_retires_nothing(
    three_products: Gateway, tmp_path: Path
) -> None:
    gateway = three_products
    events_before = gateway.event_count()
    second = write_jsonl(tmp_path / "tuesday.jsonl", [product(1)])

    result = gateway.ingest(second, "--full-sync", "--dry-run", "--yes")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "would retire 2 products (MITx+DS102, MITx+DS103)" in result.stdout
    assert [status_of(gateway, n) for n in (1, 2, 3)] == ["published"] * 3
    assert gateway.event_count() == events_before


def test_retiring_waits_for_confirmation_and_a_no_retires_nothing(
    three_products: Gateway, tmp_path: Path
) -> None:
    gateway = three_products
    second = write_jsonl(tmp_path / "tuesday.jsonl", [product(1), product(2)])

    result = gateway.ingest(second, "--full-sync", input="n\n")

    assert result.exit_code == 1
    assert "Retire 1 product (MITx+DS103) of source exec-ed" in result.stdout
    assert "nothing retired (not confirmed" in result.stderr
    assert status_of(gateway, 3) == "published"


def test_a_file_with_everything_in_it_retires_nothing(
    three_products: Gateway, tmp_path: Path
) -> None:
    gateway = three_products
    same = write_jsonl(tmp_path / "tuesday.jsonl", [product(1), product(2), product(3)])

    result = gateway.ingest(same, "--full-sync", "--yes")

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "every published product of exec-ed is in the file" in result.stdout


def test_a_full_sync_of_an_empty_file_is_refused(gateway: Gateway, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")

    result = gateway.ingest(empty, "--full-sync", "--yes")

    assert result.exit_code == 2
    assert "a full sync would retire every product of the source" in result.stderr
