"""The built-in `degree-csv` transformer: one spreadsheet row per degree, alone and through
POST /api/v1/events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.events.types import EventType
from catalog_gateway.settings import Settings
from catalog_gateway.transformers.builtin import degree_csv
from catalog_gateway.transformers.mapping import MappingTransformer
from tests.factories import make_organization, make_source, url_of
from tests.transformers.support import post_event


def degree_row(**changes: str) -> dict[str, str]:
    """A row as the sender writes it: every column, every value text, headers normalised."""
    row = {
        "identifier": "deg-mds",
        "title": "Master of Data Science",
        "card_image_url": "images.example.com/mds.png",
        "product_type": "Masters",
        "organization_key": "MITx",
        "slug": "masters-data-science",
        "paid_landing_page_url": "https://degrees.example.com/mds",
        "organic_url": "",
        "overview": "<p>Two years, part-time.</p>",
        "specializations": "Machine Learning | Statistics",
        "courses": "",
        "course_level": "Advanced",
        "primary_subject": "Data Analysis & Statistics",
        "content_language": "English - United States",
        "organization_logo_override": "https://images.example.com/logo.png",
        "organization_short_code_override": "MIT",
    }
    return row | changes


@pytest.fixture(scope="module")
def transformer() -> MappingTransformer:
    return degree_csv()


def test_a_row_becomes_a_canonical_degree(transformer: MappingTransformer) -> None:
    row = degree_row(courses="xe-7001|MITx+DS102")
    result = transformer.transform(EventType.DEGREE_UPSERT, {"rows": [row]})
    assert result.errors == result.warnings == []
    assert result.payload == {
        "degree": {
            "external_id": "deg-mds",
            "marketing_slug": "masters-data-science",
            "title": "Master of Data Science",
            "program_type": "masters",
            "organization": "MITx",
            "overview": "<p>Two years, part-time.</p>",
            "card_image_url": "https://images.example.com/mds.png",
            "courses": ["xe-7001", "MITx+DS102"],
            "specializations": ["Machine Learning", "Statistics"],
            "level": "Advanced",  # names as written: the gateway resolves them
            "primary_subject": "Data Analysis & Statistics",
            "content_language": "en-US",
            "external_url": "https://degrees.example.com/mds",
            "organization_short_code_override": "MIT",
        }
    }
    provenance = result.provenance
    assert provenance.source_path("/degree/program_type") == "/rows/0/product_type"
    assert provenance.source_path("/degree/courses/1") == "/rows/0/courses"
    assert provenance.source_path("/degree/organic_url") == "/rows/0/organic_url"


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("primary_subject", "computer-science", "computer-science"),
        ("primary_subject", "Computer  Science", "Computer  Science"),  # resolved later
        ("content_language", "es-419", "es-419"),
        ("content_language", "Spanish", "es"),
    ],
)
def test_names_or_slugs_and_tags_are_both_accepted(
    transformer: MappingTransformer, column: str, value: str, expected: str
) -> None:
    result = transformer.transform(
        EventType.DEGREE_UPSERT, {"rows": [degree_row(**{column: value})]}
    )
    assert result.payload is not None
    assert result.payload["degree"][column] == expected


def test_an_unknown_language_is_a_warning_and_left_out(transformer: MappingTransformer) -> None:
    row = degree_row(content_language="Martian")
    result = transformer.transform(EventType.DEGREE_UPSERT, {"rows": [row]})
    assert result.payload is not None
    assert "content_language" not in result.payload["degree"]
    [warning] = result.warnings
    assert (warning.code.value, warning.path, warning.source_path) == (
        "invalid_language",
        "/degree/content_language",
        "/rows/0/content_language",
    )
    assert warning.message.startswith("`/rows/0/content_language` names no language we know")


def test_a_degree_is_retired_in_the_canonical_shape(transformer: MappingTransformer) -> None:
    retire = {"degree": {"external_id": "deg-mds"}}
    assert transformer.transform(EventType.PRODUCT_RETIRE, retire).payload == retire


@pytest.fixture
def degrees_client(database: Database) -> Iterator[tuple[TestClient, str]]:
    """The service, with a `degrees` source whose transformer is `degree-csv`."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        _, key = make_source(session, "degrees", transformer="degree-csv")
    with TestClient(create_app(Settings(database_url=url_of(database)), database)) as client:
        yield client, key.api_key


def test_a_degree_row_sent_as_an_event_is_applied(
    degrees_client: tuple[TestClient, str],
) -> None:
    client, api_key = degrees_client
    answer = post_event(client, api_key, {"rows": [degree_row()]}, "deg-1", "degree.upsert")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "applied"
    assert answer.json()["products"]["degrees"] == ["masters-data-science"]
    degree = client.get("/api/v1/degrees/masters-data-science").json()
    assert degree["program_type"] == "masters"
    assert degree["primary_subject"] == "data-analysis-statistics"
    assert degree["specializations"] == ["Machine Learning", "Statistics"]


def test_an_invalid_row_is_rejected_naming_its_columns(
    degrees_client: tuple[TestClient, str],
) -> None:
    client, api_key = degrees_client
    row = degree_row(slug="Masters Data Science", title="", course_level="Expert")
    answer = post_event(client, api_key, {"rows": [row]}, "deg-2", "degree.upsert")
    assert answer.status_code == 422
    errors = {(e["code"], e["path"], e["source_path"]) for e in answer.json()["errors"]}
    assert errors == {
        ("required", "/degree/title", "/rows/0/title"),
        ("invalid_format", "/degree/marketing_slug", "/rows/0/slug"),
        ("unknown_level", "/degree/level", "/rows/0/course_level"),
    }
    assert client.get("/api/v1/degrees/masters-data-science").status_code == 404
