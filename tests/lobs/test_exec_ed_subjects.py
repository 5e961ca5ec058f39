"""The `exec-ed-product-api` transformer passes `altSubjectMatter` as written and the gateway
resolves it (issue 14, point 1): a subject the catalog does not know is refused at the API's own
field, and applies once an operator creates it or aliases the value; an alias of the source's
own `language` wins over the language the transformer reads in it. The same rule for the
`discovery-csv` transformer's comma-separated `transcript_language`. SQLite and PostgreSQL.

The service here reads subjects and aliases on every request (`auth_cache_seconds=0`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from catalog_gateway.api.app import create_app
from catalog_gateway.catalog.models import Course, CourseRun
from catalog_gateway.cli import app as cli
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings, get_settings
from tests.conftest import subjects_put_back
from tests.factories import url_of
from tests.lobs.conftest import LobApi, LobKeys, discovery_payloads, exec_ed_product

COURSE_KEY = "MITx+DSL"


@pytest.fixture(autouse=True)
def subjects_restored(database: Database) -> Iterator[None]:
    """Subjects are reference data, not emptied between tests: put them back as they were
    (after the data rows, which may refer to a subject a test created)."""
    with subjects_put_back(database):
        yield


@pytest.fixture
def fresh_api(database: Database, lob_keys: LobKeys) -> Iterator[LobApi]:
    """The service for the LoB sources, reading subjects and aliases on every request."""
    settings = Settings(database_url=url_of(database), auth_cache_seconds=0)
    with TestClient(create_app(settings, database)) as client:
        yield LobApi(client=client, keys=lob_keys)


@pytest.fixture
def operator(database: Database) -> Iterator[Any]:
    """Run a `catalog-gateway` command on the test database; it must succeed."""
    runner = CliRunner()
    environment = {"CATALOG_GATEWAY_DATABASE_URL": url_of(database)}

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        result = runner.invoke(cli, list(args), env=environment)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    yield run
    get_settings.cache_clear()


def send(api: LobApi, event_id: str, **changes: Any) -> httpx.Response:
    product = exec_ed_product("short_course_single_variant") | changes
    return api.send(api.keys.exec_ed, event_id, product)


def course(api: LobApi) -> dict[str, Any]:
    found = api.course(COURSE_KEY)
    assert found is not None
    return found


def applied(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "applied"
    assert answer["errors"] == []
    return answer


def test_an_unknown_alt_subject_matter_is_refused_at_the_apis_field(
    fresh_api: LobApi, database: Database
) -> None:
    response = send(fresh_api, "dm-1", altSubjectMatter="Design and Marketing")

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert [(e["code"], e["path"], e["source_path"]) for e in answer["errors"]] == [
        ("unknown_subject", "/course/subjects/0", "/altSubjectMatter")
    ]
    assert answer["errors"][0]["message"] == (
        "unknown subject 'Design and Marketing': an operator can add it (`catalog-gateway "
        'subjects create SLUG --name "Design and Marketing"`) or alias this source\'s value to '
        "a catalog subject (`catalog-gateway sources map-value exec-ed subject "
        '"Design and Marketing" CATALOG_VALUE`)'
    )
    assert fresh_api.course(COURSE_KEY) is None
    with database.read() as session:
        assert session.scalars(select(Course)).all() == []
        assert session.scalars(select(CourseRun)).all() == []


def test_an_alt_subject_matter_applies_once_the_subject_is_created(
    fresh_api: LobApi, operator: Any
) -> None:
    refused = send(fresh_api, "dm-1", altSubjectMatter="Design and Marketing")
    assert refused.status_code == 422, refused.text

    operator("subjects", "create", "design-and-marketing", "--name", "Design and Marketing")
    response = send(fresh_api, "dm-2", altSubjectMatter="Design and Marketing")

    answer = applied(response)
    assert answer["products"]["courses"] == [COURSE_KEY]
    assert course(fresh_api)["subjects"] == ["design-and-marketing"]


def test_the_fixtures_subject_name_resolves_to_the_seeded_slug(fresh_api: LobApi) -> None:
    # "Data Analysis & Statistics", written otherwise
    applied(send(fresh_api, "das-1", altSubjectMatter="  data analysis and statistics "))

    assert course(fresh_api)["subjects"] == ["data-analysis-statistics"]


def test_an_aliased_alt_subject_matter_applies_as_its_catalog_subject(
    fresh_api: LobApi, operator: Any
) -> None:
    refused = send(fresh_api, "mk-1", altSubjectMatter="Mktg & Design")
    assert [(e["code"], e["source_path"]) for e in refused.json()["errors"]] == [
        ("unknown_subject", "/altSubjectMatter")
    ]

    operator("sources", "map-value", "exec-ed", "subject", "Mktg & Design", "Design")
    applied(send(fresh_api, "mk-2", altSubjectMatter="MKTG and design"))

    assert course(fresh_api)["subjects"] == ["design"]


def test_an_alias_of_the_sources_language_wins_over_the_language_it_names(
    fresh_api: LobApi, operator: Any
) -> None:
    """`language` "English" is read as `en` by the transformer; the source's own alias of
    "English" (matched on what its field holds) says it means British English."""
    applied(send(fresh_api, "lang-1", language="English"))
    [run] = course(fresh_api)["course_runs"]
    assert (run["content_language"], run["transcript_languages"]) == ("en", ["en"])

    operator("sources", "map-value", "exec-ed", "language", "English", "en-gb")
    applied(send(fresh_api, "lang-2", language="English"))

    [run] = course(fresh_api)["course_runs"]
    assert (run["content_language"], run["transcript_languages"]) == ("en-GB", ["en-GB"])


def test_an_alias_of_the_transformers_language_applies_when_the_source_value_has_none(
    fresh_api: LobApi, operator: Any
) -> None:
    """No alias for what `language` holds ("English"): the alias of what the transformer made
    of it (`en`) applies."""
    operator("sources", "map-value", "exec-ed", "language", "en", "en-US")

    applied(send(fresh_api, "lang-1", language="English"))

    [run] = course(fresh_api)["course_runs"]
    assert (run["content_language"], run["transcript_languages"]) == ("en-US", ["en-US"])


def test_a_language_alias_applies_to_each_language_of_a_listed_transcript_column(
    fresh_api: LobApi, operator: Any
) -> None:
    """`discovery` means British English by "English". Its `Transcript Language` column lists
    languages separated by commas: "English" is the same source value whether the column holds
    it alone or with others, so each run's English transcript is en-GB, as its content language
    is."""
    operator("sources", "map-value", "discovery", "language", "English", "en-GB")
    product = discovery_payloads()[0]
    for row in product["rows"]:
        row["content_language"] = "English"
    product["rows"][0]["transcript_language"] = "English"
    product["rows"][1]["transcript_language"] = "English, Spanish"
    product["rows"][2]["transcript_language"] = "Spanish, English"

    response = fresh_api.send(fresh_api.keys.discovery, "pm101-1", product)

    applied(response)
    shown = fresh_api.course("MITx+PM101")
    assert shown is not None
    languages = {
        run["external_id"]: (run["content_language"], run["transcript_languages"])
        for run in shown["course_runs"]
    }
    assert languages == {
        "pm101-2027-feb": ("en-GB", ["en-GB"]),
        "pm101-2027-jun": ("en-GB", ["en-GB", "es"]),
        "pm101-acme-2027": ("en-GB", ["es", "en-GB"]),
    }
