"""`catalog-gateway transformers list` and `transformers check`, as an integrator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from catalog_gateway.cli import app
from catalog_gateway.db.engine import Database
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.service import EventGateway
from catalog_gateway.settings import get_settings
from catalog_gateway.transformers.registry import TransformerRegistry
from tests.factories import make_organization, make_source, url_of
from tests.transformers.conftest import BOOTCAMPS_MAPPING

BOOTCAMP = {
    "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS", "name": "Data Science"},
    "cohorts": [
        {"uuid": "c-1", "startsOn": "2027-03-01", "endsOn": "2027-06-01", "tuition": "12500.00"}
    ],
}
DEGREE_HEADER = "Identifier,Title,Product Type,Organization Key,Slug,Content Language\n"
CHECKED = "checked: transform, schema, cross-field rules, reference data"
CATALOG_CHECKS = "organizations, course/instructor/degree references, ownership"
OFFLINE = f"{CHECKED} — on the migrations' reference data, without the catalog"
WITHOUT_SOURCE = (
    "without --source: organization codes must be organization keys (no source's mapped codes), "
    "and external-id references and ownership are checked as for a source with nothing in the "
    "catalog; give --source SLUG to check them as that source"
)


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CATALOG_GATEWAY_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def missing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every check runs without a catalog database, unless the test gives it `catalog`."""
    path = tmp_path / "nowhere" / "catalog.db"
    use_database(monkeypatch, f"sqlite:///{path}")
    yield path
    get_settings.cache_clear()


@pytest.fixture
def catalog(database: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test database as the configured one; its URL as `check` shows it."""
    use_database(monkeypatch, url_of(database))
    return database.url.render_as_string(hide_password=True)


def summary(output: str) -> list[str]:
    """The lines of `check`'s text output, without the canonical payloads."""
    return [
        line
        for line in output.splitlines()
        if not line.startswith(("{", "}", " ")) or line.startswith(("  error ", "  warning "))
    ]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_list_shows_the_built_in_transformers_and_what_they_handle() -> None:
    result = run("transformers", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        "canonical  (entry point catalog_gateway.transformers.canonical:CanonicalTransformer)"
        in lines
    )
    degree = lines.index(
        "degree-csv  (entry point catalog_gateway.transformers.builtin:degree_csv)"
    )
    assert lines[degree + 1] == "  Degree marketing spreadsheet (one row per degree)"
    assert lines[degree + 2] == "  degree.upsert, product.retire"
    assert any(line.startswith("exec-ed-product-api  (entry point") for line in lines)
    assert any(line.startswith("discovery-csv  (entry point") for line in lines)


def test_list_json_includes_the_operator_s_mapping_files(mappings_dir: Path) -> None:
    write(mappings_dir / "bootcamps.yaml", BOOTCAMPS_MAPPING)
    result = run("transformers", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = {item["name"]: item for item in json.loads(result.stdout)}
    assert listed["bootcamps"] == {
        "name": "bootcamps",
        "origin": f"file {mappings_dir / 'bootcamps.yaml'}",
        "event_types": ["product.upsert", "product.retire"],
        "description": "Bootcamp cohorts",
        "problem": None,
    }


def test_list_refuses_a_mapping_file_that_takes_an_installed_name(mappings_dir: Path) -> None:
    write(mappings_dir / "mine.yaml", BOOTCAMPS_MAPPING.replace("bootcamps", "canonical"))
    result = run("transformers", "list")
    assert result.exit_code == 2
    assert "mine.yaml: name: 'canonical' is already the name of entry point" in result.stderr


def test_check_prints_the_canonical_payload_of_a_sample(tmp_path: Path) -> None:
    mapping = write(tmp_path / "bootcamps.yaml", BOOTCAMPS_MAPPING)
    sample = write(tmp_path / "sample.json", BOOTCAMP)
    result = run("transformers", "check", str(sample), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "item 1: product.upsert through bootcamps: 0 errors, 0 warnings\n"
    )
    assert '"end": "2027-06-01T23:59:59Z"' in result.stdout
    assert '"price": "12500.00"' in result.stdout


def test_check_reports_transform_and_schema_errors_with_source_paths(tmp_path: Path) -> None:
    mapping = write(tmp_path / "bootcamps.yaml", BOOTCAMPS_MAPPING)
    broken = {
        "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS 1"},
        "cohorts": [{"uuid": "c-1", "startsOn": "soon", "endsOn": "2027-06-01", "tuition": "x"}],
    }
    sample = write(tmp_path / "sample.json", broken)
    result = run("transformers", "check", str(sample), "--mapping", str(mapping), "--json")
    assert result.exit_code == 1, result.output
    [checked] = json.loads(result.stdout)["results"]
    found = {(e["code"], e["step"], e["path"], e["source_path"]) for e in checked["errors"]}
    assert found == {
        ("required", "transform", "/course/title", "/bootcamp/name"),
        ("invalid_format", "validate", "/course/number", "/bootcamp/code"),
        ("required", "validate", "/course_runs/0/start", "/cohorts/0/startsOn"),
        ("required", "validate", "/course_runs/0/seats/0/price", "/cohorts/0/tuition"),
    }
    warned = {(w["code"], w["path"], w["source_path"]) for w in checked["warnings"]}
    assert warned == {
        ("invalid_format", "/course_runs/0/start", "/cohorts/0/startsOn"),
        ("invalid_format", "/course_runs/0/seats/0/price", "/cohorts/0/tuition"),
    }


def test_check_reads_a_csv_sample_and_names_its_rows(tmp_path: Path) -> None:
    sample = write(
        tmp_path / "degrees.csv",
        DEGREE_HEADER
        + "deg-1,Master of Data Science,Masters,MITx,masters-data-science,English\n"
        + "deg-2,,Masters,MITx,Not A Slug,Martian\n",
    )
    result = run("transformers", "check", str(sample), "--transformer", "degree-csv")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "row 2: degree.upsert through degree-csv: 0 errors, 0 warnings" in out
    assert "row 3: degree.upsert through degree-csv: 2 errors, 1 warning" in out
    assert (
        "error required at /degree/title ← /rows/0/title (row 3): `/rows/0/title` is required"
        in out
    )
    assert "error invalid_format at /degree/marketing_slug ← /rows/0/slug (row 3)" in out
    assert "warning invalid_language at /degree/content_language ← /rows/0/content_language" in out


def test_check_with_a_bad_mapping_file_exits_2_and_names_the_problem(tmp_path: Path) -> None:
    mapping = write(tmp_path / "bootcamps.yaml", BOOTCAMPS_MAPPING.replace("each:", "eahc:"))
    sample = write(tmp_path / "sample.json", BOOTCAMP)
    result = run("transformers", "check", str(sample), "--mapping", str(mapping))
    assert result.exit_code == 2
    assert (
        f"error: {mapping}: events.product.upsert.course_runs: unknown key 'eahc' "
        "(did you mean 'each'?)"
    ) in result.stderr


def test_check_needs_exactly_one_transformer_that_exists(tmp_path: Path) -> None:
    sample = write(tmp_path / "sample.json", BOOTCAMP)
    neither = run("transformers", "check", str(sample))
    assert neither.exit_code == 2
    assert "give exactly one of --transformer NAME or --mapping FILE" in neither.stderr
    unknown = run("transformers", "check", str(sample), "--transformer", "nope")
    assert unknown.exit_code == 2
    assert "no transformer 'nope' is installed" in unknown.stderr


def test_check_an_event_type_the_mapping_does_not_handle(tmp_path: Path) -> None:
    mapping = write(tmp_path / "bootcamps.yaml", BOOTCAMPS_MAPPING)
    sample = write(tmp_path / "sample.json", BOOTCAMP)
    result = run(
        "transformers",
        "check",
        str(sample),
        "--mapping",
        str(mapping),
        "--event-type",
        "degree.upsert",
    )
    assert result.exit_code == 1
    assert "transformer bootcamps does not handle degree.upsert" in result.stdout


def test_check_refuses_a_sample_it_cannot_read(tmp_path: Path) -> None:
    sample = write(tmp_path / "sample.json", "{not json")
    result = run("transformers", "check", str(sample), "--transformer", "canonical")
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


# --- `check` runs the gateway's validation, against the configured database -----------------

ENDS_BEFORE_IT_STARTS = {
    "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS", "name": "Data Science"},
    "cohorts": [
        {"uuid": "c-1", "startsOn": "2027-06-01", "endsOn": "2027-03-01", "tuition": "12500.00"}
    ],
}
END_BEFORE_START = (
    "  error invalid_date at /course_runs/0/end ← /cohorts/0/endsOn (item 1): "
    "end must be after start"
)


@pytest.fixture
def bootcamps_source(database: Database) -> str:
    """A source that calls organization FX by its own code FlatironX."""
    with database.unit_of_work() as session:
        make_organization(session, "FX", "Flatiron School")
        make_source(session, "bootcamps-lob", rate="5/second", burst=5, codes={"FlatironX": "FX"})
    return "bootcamps-lob"


def check_sample(tmp_path: Path, sample: Any, *options: str) -> Result:
    mapping = write(tmp_path / "bootcamps.yaml", BOOTCAMPS_MAPPING)
    path = write(tmp_path / "sample.json", sample)
    return run("transformers", "check", str(path), "--mapping", str(mapping), *options)


def test_check_finds_a_run_that_ends_before_it_starts(
    tmp_path: Path, catalog: str, bootcamps_source: str
) -> None:
    result = check_sample(tmp_path, ENDS_BEFORE_IT_STARTS, "--source", bootcamps_source)
    assert result.exit_code == 1, result.output
    assert summary(result.stdout) == [
        "item 1: product.upsert through bootcamps: 1 error, 0 warnings",
        END_BEFORE_START,
        f"{CHECKED}, {CATALOG_CHECKS}, allowed event types — as source bootcamps-lob, "
        f"against {catalog}",
    ]


def test_check_finds_an_unknown_organization_in_the_catalog(tmp_path: Path, catalog: str) -> None:
    result = check_sample(tmp_path, BOOTCAMP)
    assert result.exit_code == 1, result.output
    assert summary(result.stdout) == [
        "item 1: product.upsert through bootcamps: 1 error, 0 warnings",
        "  error unknown_organization at /course/organization ← /bootcamp/school (item 1): "
        "organization 'FlatironX' is neither a known organization key nor one of this source's "
        "mapped organization codes",
        f"{CHECKED}, {CATALOG_CHECKS} — against {catalog}",
        WITHOUT_SOURCE,
    ]


def test_check_as_a_source_applies_its_organization_codes(
    tmp_path: Path, catalog: str, bootcamps_source: str
) -> None:
    result = check_sample(tmp_path, BOOTCAMP, "--source", bootcamps_source, "--json")
    assert result.exit_code == 0, result.output
    checked = json.loads(result.stdout)
    [item] = checked.pop("results")
    assert checked == {
        "transformer": "bootcamps",
        "source": "bootcamps-lob",
        "database": catalog,
        "checked": [
            "transform",
            "schema",
            "cross-field rules",
            "reference data",
            "organizations",
            "course/instructor/degree references",
            "ownership",
            "allowed event types",
        ],
        "skipped": [],
        "notes": [],
    }
    assert (item["errors"], item["warnings"]) == ([], [])
    assert item["payload"]["course"]["organization"] == "FlatironX"


def test_check_as_a_source_applies_ownership(
    tmp_path: Path, database: Database, catalog: str, bootcamps_source: str
) -> None:
    with database.unit_of_work() as session:
        make_source(session, "other-lob", rate="5/second", burst=5)
    gateway = EventGateway(database, transformers=TransformerRegistry())
    course = {"external_id": "o-1", "organization": "FX", "number": "DS", "title": "Theirs"}
    sent = gateway.handle(
        gateway.profile_by_slug("other-lob"),
        Envelope(
            event_id="o-1",
            event_type=EventType.COURSE_UPSERT,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            payload={"course": course | {"course_type": "bootcamp-2u"}},
        ),
    )
    assert sent.answer.status == "applied", sent.answer
    result = check_sample(tmp_path, BOOTCAMP, "--source", bootcamps_source)
    assert result.exit_code == 1, result.output
    assert summary(result.stdout) == [
        "item 1: product.upsert through bootcamps: 1 error, 0 warnings",
        "  error not_owner at /course/number ← /bootcamp/code (item 1): "
        "course FX+DS belongs to another source",
        f"{CHECKED}, {CATALOG_CHECKS}, allowed event types — as source bootcamps-lob, "
        f"against {catalog}",
    ]


def test_check_as_a_source_alone_uses_its_transformer_and_event_types(
    tmp_path: Path, database: Database, catalog: str
) -> None:
    with database.unit_of_work() as session:
        make_source(
            session, "retire-only", rate="5/second", burst=5, event_types=["product.retire"]
        )
        make_organization(session, "MITx")
    course = {"external_id": "c-1", "organization": "MITx", "number": "DS101", "title": "DS"}
    sample = write(tmp_path / "sample.json", {"course": course | {"course_type": "audit"}})
    result = run("transformers", "check", str(sample), "--source", "retire-only")
    assert result.exit_code == 1, result.output
    assert summary(result.stdout) == [
        "item 1: product.upsert through canonical: 1 error, 0 warnings",
        "  error event_type_not_allowed at (payload): source retire-only may not send "
        "product.upsert events; it may send: product.retire",
        f"{CHECKED}, {CATALOG_CHECKS}, allowed event types — as source retire-only, "
        f"against {catalog}",
    ]


def test_check_as_an_unknown_source_exits_2(tmp_path: Path, catalog: str) -> None:
    result = check_sample(tmp_path, BOOTCAMP, "--source", "nope")
    assert result.exit_code == 2
    assert result.stderr == "error: no source 'nope'\n"


OFFLINE_SAMPLE = {
    "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS 1", "name": "Data Science"},
    "cohorts": ENDS_BEFORE_IT_STARTS["cohorts"],
}
OFFLINE_ERRORS = [
    "item 1: product.upsert through bootcamps: 2 errors, 0 warnings",
    "  error invalid_format at /course/number ← /bootcamp/code (item 1): "
    "number: string should match pattern '^[A-Za-z0-9._-]+$'",
    END_BEFORE_START,
    OFFLINE,
]


def test_check_without_a_database_says_what_it_skipped(
    tmp_path: Path, missing_database: Path
) -> None:
    result = check_sample(tmp_path, OFFLINE_SAMPLE)
    assert result.exit_code == 1, result.output
    assert summary(result.stdout) == [
        *OFFLINE_ERRORS,
        f"skipped: {CATALOG_CHECKS} — database unreachable: "
        f"no SQLite database file {missing_database}",
    ]
    assert not missing_database.parent.exists()


def test_check_json_without_a_database_lists_what_it_skipped(
    tmp_path: Path, missing_database: Path
) -> None:
    result = check_sample(tmp_path, OFFLINE_SAMPLE, "--source", "bootcamps-lob", "--json")
    assert result.exit_code == 1, result.output
    checked = json.loads(result.stdout)
    reason = f"database unreachable: no SQLite database file {missing_database}"
    assert (checked["source"], checked["checked"], checked["skipped"]) == (
        None,
        ["transform", "schema", "cross-field rules", "reference data"],
        [
            {"check": "organizations", "reason": reason},
            {"check": "course/instructor/degree references", "reason": reason},
            {"check": "ownership", "reason": reason},
            {"check": "allowed event types", "reason": reason},
        ],
    )
    [item] = checked["results"]
    assert [(e["code"], e["path"]) for e in item["errors"]] == [
        ("invalid_format", "/course/number"),
        ("invalid_date", "/course_runs/0/end"),
    ]


def test_check_with_postgresql_unreachable_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, "postgresql://postgres@127.0.0.1:1/catalog")
    result = check_sample(tmp_path, OFFLINE_SAMPLE)
    assert result.exit_code == 1, result.output
    *lines, skipped = summary(result.stdout)
    assert lines == OFFLINE_ERRORS
    assert skipped.startswith(
        f"skipped: {CATALOG_CHECKS} — database unreachable: connection failed: "
        'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    )


def test_check_with_a_database_not_migrated_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    use_database(monkeypatch, f"sqlite:///{empty}")
    result = check_sample(tmp_path, OFFLINE_SAMPLE)
    assert result.exit_code == 1, result.output
    assert summary(result.stdout) == [
        *OFFLINE_ERRORS,
        f"skipped: {CATALOG_CHECKS} — database not migrated (run `catalog-gateway db upgrade`)",
    ]


def test_check_as_a_source_needs_a_transformer_without_a_database(tmp_path: Path) -> None:
    sample = write(tmp_path / "sample.json", BOOTCAMP)
    result = run("transformers", "check", str(sample), "--source", "bootcamps-lob")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: the transformer of source 'bootcamps-lob' cannot be read (database "
        "unreachable: no SQLite database file "
    )
