"""Who may read the catalog, the health probes, and the API's self-description."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from tests.api.conftest import API, Catalog, ClientFactory, Keys, assert_problem
from tests.factories import bearer, url_of

CATALOG_READS = [
    "/courses",
    "/courses/MITx+DS101",
    "/course-runs",
    "/course-runs/course-v1:MITx+DS101+1T2027",
    "/degrees",
    "/degrees/masters-data-science",
    "/organizations",
]


@pytest.fixture
def locked_client(make_client: ClientFactory) -> TestClient:
    """A client of a service whose catalog reads need a key."""
    return make_client(reads_require_key=True)


def test_reads_need_no_key_by_default(client: TestClient, catalog: Catalog) -> None:
    for path in CATALOG_READS:
        assert client.get(API + path).status_code == 200, path


@pytest.mark.parametrize("path", CATALOG_READS)
def test_reads_without_a_key_are_unauthorized_when_keys_are_required(
    locked_client: TestClient, catalog: Catalog, path: str
) -> None:
    response = locked_client.get(API + path)

    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in body["detail"]


def test_instructor_read_without_a_key_is_unauthorized_when_keys_are_required(
    locked_client: TestClient, catalog: Catalog
) -> None:
    response = locked_client.get(f"{API}/instructors/{catalog.instructor_uuid}")

    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize("path", CATALOG_READS)
def test_a_source_key_may_read_when_keys_are_required(
    locked_client: TestClient, catalog: Catalog, keys: Keys, path: str
) -> None:
    assert locked_client.get(API + path, headers=bearer(keys.source)).status_code == 200


def test_an_admin_key_may_read_when_keys_are_required(
    locked_client: TestClient, catalog: Catalog, keys: Keys
) -> None:
    response = locked_client.get(API + "/courses", headers=bearer(keys.admin))

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_a_revoked_key_is_unauthorized(
    locked_client: TestClient, catalog: Catalog, keys: Keys
) -> None:
    response = locked_client.get(API + "/courses", headers=bearer(keys.revoked))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("key", ["garbage", "cgw_" + "A" * 43, "Bearer"])
def test_an_unknown_key_is_unauthorized(
    locked_client: TestClient, catalog: Catalog, keys: Keys, key: str
) -> None:
    response = locked_client.get(API + "/courses", headers=bearer(key))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("which", ["revoked", "garbage"])
def test_a_wrong_key_is_unauthorized_even_when_reads_need_no_key(
    client: TestClient, catalog: Catalog, keys: Keys, which: str
) -> None:
    key = keys.revoked if which == "revoked" else "cgw_not-a-real-key"

    response = client.get(API + "/courses", headers=bearer(key))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_valid_key_is_accepted_when_reads_need_no_key(
    client: TestClient, catalog: Catalog, keys: Keys
) -> None:
    assert client.get(API + "/courses", headers=bearer(keys.source)).status_code == 200
    assert client.get(API + "/courses", headers=bearer(keys.admin)).status_code == 200


def test_probes_need_no_key_even_when_reads_do(locked_client: TestClient) -> None:
    assert locked_client.get("/health").status_code == 200
    assert locked_client.get("/ready").status_code == 200


# Probes ------------------------------------------------------------------------------------


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_answers_ok_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable_database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "postgresql":
        return Database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    return Database(f"sqlite:///{tmp_path / 'missing-dir' / 'catalog.db'}")


def test_ready_answers_503_when_the_database_is_unreachable(
    unreachable_database: Database,
) -> None:
    url = url_of(unreachable_database)
    app = create_app(Settings(database_url=url), unreachable_database)

    with TestClient(app) as client:
        ready = client.get("/ready")
        health = client.get("/health")

    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "unreachable"}
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}


# Self-description --------------------------------------------------------------------------


def test_openapi_lists_every_catalog_path(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/courses",
        "/api/v1/courses/{key}",
        "/api/v1/course-runs",
        "/api/v1/course-runs/{key}",
        "/api/v1/degrees",
        "/api/v1/degrees/{slug}",
        "/api/v1/organizations",
        "/health",
        "/ready",
    ]:
        assert "get" in paths.get(path, {}), f"{path} missing from OpenAPI"
    instructor_paths = [p for p in paths if p.startswith("/api/v1/instructors/{")]
    assert len(instructor_paths) == 1
    assert "get" in paths[instructor_paths[0]]


def test_openapi_documents_problem_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    not_found = spec["paths"]["/api/v1/courses/{key}"]["get"]["responses"]["404"]
    assert "application/problem+json" in not_found["content"]
    assert "Problem" in spec["components"]["schemas"]


def test_docs_page_answers(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
