"""A line of business added with a mapping file only: the file in the mappings directory, a
source naming it, and events through POST /api/v1/events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from tests.factories import make_organization, make_source, url_of
from tests.transformers.conftest import BOOTCAMPS_MAPPING
from tests.transformers.support import post_event, sample_cohort


@pytest.fixture
def bootcamps(mappings_dir: Path, database: Database) -> Iterator[tuple[TestClient, str]]:
    (mappings_dir / "bootcamps.yaml").write_text(BOOTCAMPS_MAPPING)
    with database.unit_of_work() as session:
        make_organization(session, "FlatironX")
        _, key = make_source(session, "bootcamps", transformer="bootcamps", installed=["bootcamps"])
    settings = Settings(database_url=url_of(database), mappings_dir=mappings_dir)
    with TestClient(create_app(settings, database)) as client:
        yield client, key.api_key


def test_a_product_mapped_by_an_operator_s_file_is_applied(
    bootcamps: tuple[TestClient, str],
) -> None:
    client, api_key = bootcamps
    payload = {
        "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS", "name": "Data Science"},
        "cohorts": [sample_cohort(endsOn="2027-06-01", tuition=12500)],
    }
    answer = post_event(client, api_key, payload)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["products"]["course_runs"] == ["course-v1:FlatironX+DS+1T2027"]
    run = client.get("/api/v1/courses/FlatironX+DS").json()["course_runs"][0]
    assert run["end"] == "2027-06-01T23:59:59Z"
    assert run["seats"][0]["price"] == "12500.00"


def test_its_errors_name_the_lob_s_fields(bootcamps: tuple[TestClient, str]) -> None:
    client, api_key = bootcamps
    payload = {
        "bootcamp": {"id": "bc-ds", "school": "Nowhere", "code": "DS"},
        "cohorts": [sample_cohort(endsOn="2027-01-01", tuition="12.345")],
    }
    answer = post_event(client, api_key, payload)
    assert answer.status_code == 422
    errors = {(e["code"], e["path"], e["source_path"]) for e in answer.json()["errors"]}
    assert errors == {
        ("required", "/course/title", "/bootcamp/name"),
        ("unknown_organization", "/course/organization", "/bootcamp/school"),
        ("invalid_date", "/course_runs/0/end", "/cohorts/0/endsOn"),
        ("invalid_price", "/course_runs/0/seats/0/price", "/cohorts/0/tuition"),
    }
