"""`catalog-gateway transformers list` and `transformers check`, as an integrator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from catalog_gateway.cli import app
from tests.transformers.conftest import BOOTCAMPS_MAPPING

BOOTCAMP = {
    "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS", "name": "Data Science"},
    "cohorts": [
        {"uuid": "c-1", "startsOn": "2027-03-01", "endsOn": "2027-06-01", "tuition": "12500.00"}
    ],
}
DEGREE_HEADER = "Identifier,Title,Product Type,Organization Key,Slug,Content Language\n"


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
