"""Transformers: the registry, provenance, and a LoB-shaped transformer through the gateway."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ErrorCode, InvalidValueError, NotFoundError
from catalog_gateway.events.results import EventIssue
from catalog_gateway.events.types import EventType
from catalog_gateway.settings import Settings
from catalog_gateway.sources.service import create_source
from catalog_gateway.transformers import registry
from catalog_gateway.transformers.base import Provenance, Transformer, TransformResult
from catalog_gateway.transformers.canonical import CanonicalTransformer
from tests.factories import INSTALLED, make_organization, make_source, url_of
from tests.transformers.support import post_event, sample_cohort


class BootcampTransformer:
    """The example of docs/transformers.md: bootcamps send a bootcamp and its cohorts."""

    name = "bootcamps"

    def transform(self, event_type: EventType, raw: dict[str, Any]) -> TransformResult:
        provenance = Provenance()
        bootcamp = raw.get("bootcamp")
        if not isinstance(bootcamp, dict):
            issue = EventIssue(
                code=ErrorCode.INVALID_VALUE,
                message="a bootcamp product needs a `bootcamp` object",
                step="transform",
                source_path="/bootcamp",
            )
            return TransformResult(payload=None, provenance=provenance, errors=[issue])
        course = {
            "external_id": bootcamp.get("id"),
            "organization": bootcamp.get("school"),
            "number": bootcamp.get("code"),
            "title": bootcamp.get("name"),
            "course_type": "bootcamp-2u",
        }
        for field, source in [("external_id", "id"), ("organization", "school")]:
            provenance.record(f"/course/{field}", f"/bootcamp/{source}")
        provenance.record("/course/number", "/bootcamp/code")
        provenance.record("/course/title", "/bootcamp/name")
        runs = []
        for index, cohort in enumerate(raw.get("cohorts") or []):
            provenance.record(f"/course_runs/{index}", f"/cohorts/{index}")
            provenance.record(f"/course_runs/{index}/start", f"/cohorts/{index}/startsOn")
            provenance.record(f"/course_runs/{index}/end", f"/cohorts/{index}/endsOn")
            runs.append(
                {
                    "external_id": cohort.get("uuid"),
                    "start": cohort.get("startsOn"),
                    "end": cohort.get("endsOn"),
                    "pacing": "instructor_paced",
                    "run_type": "paid-bootcamp",
                    "seats": [
                        {"type": "paid-bootcamp", "price": cohort.get("tuition"), "currency": "USD"}
                    ],
                }
            )
        payload = {"course": course, "instructors": [], "course_runs": runs}
        return TransformResult(payload=payload, provenance=provenance)

    def input_schema(self, event_type: EventType) -> dict[str, Any] | None:
        return None


class ExplodingTransformer:
    """A transformer with a bug."""

    name = "exploding"

    def transform(self, event_type: EventType, raw: dict[str, Any]) -> TransformResult:
        raise KeyError("cohorts")

    def input_schema(self, event_type: EventType) -> dict[str, Any] | None:
        return None


def test_canonical_transformer_is_installed_through_its_entry_point() -> None:
    installed = registry.TransformerRegistry()
    assert "canonical" in installed.origins()
    assert isinstance(installed.get("canonical"), CanonicalTransformer)
    assert isinstance(installed.get("canonical"), Transformer)


def test_unknown_transformer_is_a_clear_error() -> None:
    with pytest.raises(NotFoundError) as raised:
        registry.TransformerRegistry().get("nope")
    assert raised.value.code is ErrorCode.UNKNOWN_TRANSFORMER
    assert "canonical" in raised.value.message


def test_provenance_uses_the_nearest_recorded_ancestor() -> None:
    provenance = Provenance()
    provenance.record("/course_runs/0", "/cohorts/0")
    provenance.record("/course_runs/0/end", "/cohorts/0/endsOn")
    assert provenance.source_path("/course_runs/0/end") == "/cohorts/0/endsOn"
    assert provenance.source_path("/course_runs/0/seats/0/price") == "/cohorts/0"
    assert provenance.source_path("/course/title") is None
    assert provenance.source_path(None) is None
    assert Provenance.same_shape().source_path("/course/title") == "/course/title"


@pytest.fixture
def bootcamp_client(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> tuple[TestClient, dict[str, str]]:
    transformers: dict[str, Transformer] = {
        "canonical": CanonicalTransformer(),
        "bootcamps": BootcampTransformer(),
        "exploding": ExplodingTransformer(),
    }
    monkeypatch.setattr(registry.TransformerRegistry, "get", lambda _self, name: transformers[name])
    with database.unit_of_work() as session:
        make_organization(session, "FlatironX")
        _, bootcamps = make_source(
            session,
            "bootcamps",
            transformer="bootcamps",
            installed=["bootcamps"],
            rate="50/second",
            burst=10,
        )
        _, exploding = make_source(
            session,
            "exploding",
            transformer="exploding",
            installed=["exploding"],
            rate="50/second",
            burst=10,
        )
    client = TestClient(create_app(Settings(database_url=url_of(database)), database))
    keys = {"bootcamps": bootcamps.api_key, "exploding": exploding.api_key}
    return client, keys


def test_a_lob_shaped_product_is_applied_through_its_transformer(
    bootcamp_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = bootcamp_client
    payload = {
        "bootcamp": {"id": "bc-ds", "school": "FlatironX", "code": "DS", "name": "Data Science"},
        "cohorts": [sample_cohort()],
    }
    answer = post_event(client, keys["bootcamps"], payload)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["products"]["course_runs"] == ["course-v1:FlatironX+DS+1T2027"]
    course = client.get("/api/v1/courses/FlatironX+DS").json()
    assert course["course_runs"][0]["seats"][0]["price"] == "12500.00"


def test_errors_name_the_lob_s_own_fields(
    bootcamp_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = bootcamp_client
    payload = {
        "bootcamp": {"id": "bc-ds", "school": "Nowhere", "code": "DS", "name": "Data Science"},
        "cohorts": [sample_cohort(endsOn="2027-01-01T00:00:00Z", tuition="12.345")],
    }
    answer = post_event(client, keys["bootcamps"], payload)
    assert answer.status_code == 422
    errors = {(e["code"], e["path"], e["source_path"]) for e in answer.json()["errors"]}
    assert errors == {
        ("unknown_organization", "/course/organization", "/bootcamp/school"),
        ("invalid_date", "/course_runs/0/end", "/cohorts/0/endsOn"),
        ("invalid_price", "/course_runs/0/seats/0/price", "/cohorts/0"),
    }


def test_a_transformer_that_produces_nothing_stops_at_transform(
    bootcamp_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = bootcamp_client
    answer = post_event(client, keys["bootcamps"], {"cohorts": []})
    assert answer.status_code == 422
    body = answer.json()
    assert [(s["name"], s["status"]) for s in body["steps"]] == [
        ("transform", "failed"),
        ("validate", "skipped"),
    ]
    assert body["errors"][0]["source_path"] == "/bootcamp"


def test_a_transformer_bug_is_a_transform_failure_not_a_500(
    bootcamp_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = bootcamp_client
    answer = post_event(client, keys["exploding"], {})
    assert answer.status_code == 422
    error = answer.json()["errors"][0]
    assert error["code"] == "transform_failed"
    assert error["step"] == "transform"
    assert "KeyError" in error["message"]


def test_a_source_cannot_name_a_transformer_that_is_not_installed(database: Database) -> None:
    with database.unit_of_work() as session, pytest.raises(InvalidValueError) as raised:
        create_source(
            session, "ghost", transformer="ghost", installed=INSTALLED, rate="1/second", burst=1
        )
    assert raised.value.code is ErrorCode.UNKNOWN_TRANSFORMER
