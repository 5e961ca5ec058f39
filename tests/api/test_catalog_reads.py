"""Catalog reads over HTTP (DESIGN §4 "Reading"): representations, lookups by key, cursor
pagination, filters, and problem+json errors. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.settings import Settings
from tests.api.conftest import API, SEAT_SKU, Catalog, ClientFactory, assert_problem
from tests.factories import at

CANONICAL_COURSE_FIELDS = {
    "external_id",
    "organization",
    "number",
    "title",
    "short_description",
    "full_description",
    "outcome",
    "syllabus",
    "prerequisites",
    "faq",
    "learner_testimonials",
    "level",
    "subjects",
    "image_url",
    "video_url",
    "course_type",
    "entitlement",
    "marketing",
    "organization_short_code_override",
    "organization_logo_override",
}
CANONICAL_RUN_FIELDS = {
    "external_id",
    "start",
    "end",
    "enrollment_start",
    "enrollment_end",
    "go_live_date",
    "pacing",
    "run_type",
    "min_effort",
    "max_effort",
    "weeks_to_complete",
    "content_language",
    "transcript_languages",
    "staff",
    "seats",
    "restriction",
    "fixed_price_usd",
}
CANONICAL_SEAT_FIELDS = {"type", "price", "currency", "upgrade_deadline"}
CANONICAL_DEGREE_FIELDS = {
    "external_id",
    "marketing_slug",
    "title",
    "subtitle",
    "program_type",
    "organization",
    "overview",
    "card_image_url",
    "courses",
    "specializations",
    "level",
    "primary_subject",
    "content_language",
    "external_url",
    "organic_url",
    "lead_capture_form_url",
    "organization_short_code_override",
}

LISTS = {
    "/courses": "key",
    "/course-runs": "key",
    "/degrees": "marketing_slug",
    "/organizations": "key",
}


def moment(value: str) -> datetime:
    """An RFC 3339 time from an answer; it must carry its zone."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"{value!r} has no time zone"
    return parsed


def keys_of(response: Any, field: str = "key") -> list[str]:
    assert response.status_code == 200, response.text
    return [item[field] for item in response.json()["results"]]


def walk_pages(client: TestClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following `next` until it is null."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(100):
        query = dict(params) | ({"cursor": cursor} if cursor is not None else {})
        response = client.get(API + path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"results", "next"}
        pages.append(body["results"])
        cursor = body["next"]
        if cursor is None:
            return pages
    raise AssertionError("pagination never ended")


def forged_cursor(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# Representations ---------------------------------------------------------------------------


def test_course_list_embeds_runs_and_seats_under_canonical_names(
    client: TestClient, catalog: Catalog
) -> None:
    response = client.get(API + "/courses", params={"source": "exec-ed", "status": "published"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    [course] = response.json()["results"]
    assert set(course) >= CANONICAL_COURSE_FIELDS | {
        "key",
        "uuid",
        "source",
        "product_status",
        "modified",
        "course_runs",
    }
    assert course["key"] == "MITx+DS101"
    assert course["uuid"] == str(catalog.ds101_uuid)
    assert course["source"] == "exec-ed"
    assert course["external_id"] == "xe-7001"
    assert course["organization"] == "MITx"
    assert course["number"] == "DS101"
    assert course["title"] == "Data Science for Leaders"
    assert course["subjects"] == ["computer-science", "data-analysis-statistics"]
    assert course["course_type"] == "executive-education-2u"
    assert course["level"] == "introductory"
    assert course["product_status"] == "published"
    assert course["entitlement"] == {
        "seat_type": "paid-executive-education",
        "price": "2800.00",
        "currency": "USD",
        "sku": None,
    }
    assert course["marketing"]["external_url"] == "https://example.org/ds101"
    assert course["marketing"]["facts"] == [{"heading": "90%", "blurb": "would recommend"}]
    assert moment(course["modified"]) < catalog.cutoff

    runs = course["course_runs"]
    assert [run["key"] for run in runs] == [
        "course-v1:MITx+DS101+1T2027",
        "course-v1:MITx+DS101+3T2027",
    ]
    february, autumn = runs
    assert set(february) >= CANONICAL_RUN_FIELDS | {"key", "course", "status"}
    assert february["course"] == "MITx+DS101"
    assert february["external_id"] == "variant-1"
    assert february["status"] == "unpublished"
    assert february["pacing"] == "instructor_paced"
    assert february["run_type"] == "paid-executive-education"
    assert february["staff"] == ["in-1"]
    assert (february["min_effort"], february["max_effort"]) == (4, 6)
    assert february["weeks_to_complete"] == 8
    assert february["transcript_languages"] == ["en-US"]
    assert moment(february["start"]) == at(2027, 2, 1)
    assert moment(february["end"]) == at(2027, 3, 29, 23, 59)
    assert moment(february["enrollment_end"]) == at(2027, 1, 25)
    assert february["enrollment_start"] is None
    [seat] = february["seats"]
    assert set(seat) >= CANONICAL_SEAT_FIELDS | {"sku"}
    assert seat == {
        "type": "paid-executive-education",
        "price": "2800.00",
        "currency": "USD",
        "upgrade_deadline": None,
        "sku": SEAT_SKU,
        "pending_price": None,  # ecommerce accepted every price
    }
    assert [(s["price"], s["sku"]) for s in autumn["seats"]] == [("2100.00", None)]


def test_prices_keep_their_cents_as_decimal_strings(client: TestClient, catalog: Catalog) -> None:
    prices = [
        seat["price"]
        for run in client.get(API + "/course-runs").json()["results"]
        for seat in run["seats"]
    ]

    assert sorted(prices) == ["12000.00", "2100.00", "2800.00"]
    assert all(Decimal(price).as_tuple().exponent == -2 for price in prices)


def test_datetimes_are_answered_with_their_zone(client: TestClient, catalog: Catalog) -> None:
    run = client.get(API + "/course-runs/course-v1:HarvardX+CODE100+2T2027").json()

    assert moment(run["start"]) == at(2027, 5, 3)
    assert moment(run["end"]) == at(2027, 8, 27)
    assert moment(run["modified"]).utcoffset() is not None


def test_course_is_found_by_a_key_containing_a_plus(client: TestClient, catalog: Catalog) -> None:
    response = client.get(API + "/courses/MITx+DS101")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"] == "MITx+DS101"
    assert body["uuid"] == str(catalog.ds101_uuid)
    assert len(body["course_runs"]) == 2


def test_course_key_may_be_percent_encoded(client: TestClient, catalog: Catalog) -> None:
    response = client.get(API + "/courses/HarvardX%2BCODE100")

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Full-Stack Software Bootcamp"


def test_retired_course_is_still_readable_by_key_as_archived(
    client: TestClient, catalog: Catalog
) -> None:
    body = client.get(API + "/courses/MITx+ML201").json()

    assert body["product_status"] == "archived"
    assert [run["status"] for run in body["course_runs"]] == ["archived"]


def test_course_run_is_found_by_its_full_key(client: TestClient, catalog: Catalog) -> None:
    response = client.get(API + "/course-runs/course-v1:MITx+DS101+1T2027")

    assert response.status_code == 200, response.text
    run = response.json()
    assert run["key"] == "course-v1:MITx+DS101+1T2027"
    assert run["course"] == "MITx+DS101"
    assert run["staff"] == ["in-1"]
    assert [seat["sku"] for seat in run["seats"]] == [SEAT_SKU]
    uuid.UUID(run["uuid"])


def test_course_run_list_names_each_runs_course(client: TestClient, catalog: Catalog) -> None:
    runs = client.get(API + "/course-runs").json()["results"]

    assert {run["key"]: run["course"] for run in runs} == {
        "course-v1:MITx+DS101+1T2027": "MITx+DS101",
        "course-v1:MITx+DS101+3T2027": "MITx+DS101",
        "course-v1:MITx+ML201+1T2027": "MITx+ML201",
        "course-v1:HarvardX+CODE100+2T2027": "HarvardX+CODE100",
    }


def test_instructor_is_found_by_uuid(client: TestClient, catalog: Catalog) -> None:
    response = client.get(f"{API}/instructors/{catalog.instructor_uuid}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["uuid"] == str(catalog.instructor_uuid)
    assert body["source"] == "exec-ed"
    assert body["external_id"] == "in-1"
    assert (body["given_name"], body["family_name"]) == ("Ada", "Lovelace")
    assert body["email"] == "ada@example.org"
    assert body["position"] == {"title": "Professor", "organization": "MIT"}
    moment(body["modified"])


def test_degree_list_gives_courses_as_keys_in_order(client: TestClient, catalog: Catalog) -> None:
    degrees = client.get(API + "/degrees").json()["results"]

    by_slug = {degree["marketing_slug"]: degree for degree in degrees}
    assert set(by_slug) == set(catalog.degrees)
    masters = by_slug["masters-data-science"]
    assert set(masters) >= CANONICAL_DEGREE_FIELDS | {"uuid", "source", "product_status"}
    assert masters["courses"] == ["MITx+DS101", "MITx+ML201"]
    assert masters["source"] == "exec-ed"
    assert masters["organization"] == "MITx"
    assert masters["program_type"] == "masters"
    assert masters["specializations"] == ["Machine Learning"]
    assert masters["product_status"] == "published"
    assert by_slug["software-engineering-certificate"]["courses"] == ["HarvardX+CODE100"]


def test_degree_is_found_by_marketing_slug(client: TestClient, catalog: Catalog) -> None:
    response = client.get(API + "/degrees/software-engineering-certificate")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Software Engineering Certificate"
    assert body["source"] == "bootcamps"
    assert body["organization"] == "HarvardX"
    assert body["product_status"] == "archived"


def test_organizations_are_listed_with_key_and_name(client: TestClient, catalog: Catalog) -> None:
    organizations = client.get(API + "/organizations").json()["results"]

    assert {org["key"]: org["name"] for org in organizations} == {
        "MITx": "Massachusetts Institute of Technology",
        "HarvardX": "Harvard University",
        "Wharton": "The Wharton School",
    }
    assert all(moment(org["modified"]) for org in organizations)


def test_empty_catalog_lists_are_a_single_last_page(client: TestClient) -> None:
    for path in LISTS:
        response = client.get(API + path)
        assert response.status_code == 200, path
        assert response.json() == {"results": [], "next": None}, path


# Pagination --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "field"), list(LISTS.items()))
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_following_next_visits_every_item_once(
    client: TestClient, catalog: Catalog, path: str, field: str, limit: int
) -> None:
    expected = {
        "/courses": catalog.courses,
        "/course-runs": catalog.course_runs,
        "/degrees": catalog.degrees,
        "/organizations": catalog.organizations,
    }[path]

    pages = walk_pages(client, path, limit=limit)

    seen = [item[field] for page in pages for item in page]
    assert len(seen) == len(set(seen)), f"duplicates: {seen}"
    assert set(seen) == set(expected)
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit
    assert len(pages) == -(-len(expected) // limit)


def test_next_is_null_when_the_last_page_is_exactly_full(
    client: TestClient, catalog: Catalog
) -> None:
    first = client.get(API + "/course-runs", params={"limit": 2}).json()
    second = client.get(API + "/course-runs", params={"limit": 2, "cursor": first["next"]}).json()

    assert first["next"] is not None
    assert len(second["results"]) == 2
    assert second["next"] is None


def test_no_limit_uses_the_default_page_size(make_client: ClientFactory, catalog: Catalog) -> None:
    client = make_client(page_size_default=2)

    first = client.get(API + "/course-runs").json()

    assert len(first["results"]) == 2
    assert first["next"] is not None


def test_cursor_keeps_the_filters_it_is_used_with(client: TestClient, catalog: Catalog) -> None:
    pages = walk_pages(client, "/course-runs", limit=1, source="exec-ed")

    assert [page[0]["key"] for page in pages] == [
        "course-v1:MITx+DS101+1T2027",
        "course-v1:MITx+DS101+3T2027",
        "course-v1:MITx+ML201+1T2027",
    ]


def test_page_size_max_itself_is_accepted(client: TestClient, catalog: Catalog) -> None:
    maximum = Settings().page_size_max
    response = client.get(API + "/courses", params={"limit": maximum})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize("path", list(LISTS))
def test_limit_zero_is_an_invalid_request(client: TestClient, path: str) -> None:
    assert_problem(client.get(API + path, params={"limit": 0}), 400, "invalid_request")


@pytest.mark.parametrize("path", list(LISTS))
def test_limit_above_page_size_max_is_an_invalid_request(client: TestClient, path: str) -> None:
    maximum = Settings().page_size_max
    body = assert_problem(
        client.get(API + path, params={"limit": maximum + 1}), 400, "invalid_request"
    )
    assert str(maximum) in body["detail"]


def test_page_size_max_comes_from_the_settings(make_client: ClientFactory) -> None:
    client = make_client(page_size_max=5)

    assert client.get(API + "/courses", params={"limit": 5}).status_code == 200
    assert_problem(client.get(API + "/courses", params={"limit": 6}), 400, "invalid_request")


def test_non_numeric_limit_is_an_invalid_request(client: TestClient) -> None:
    assert_problem(client.get(API + "/courses", params={"limit": "ten"}), 400, "invalid_request")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        forged_cursor({"after": "3"}),
        forged_cursor({"after": -1}),
        forged_cursor({"after": True}),
        forged_cursor({"before": 3}),
        forged_cursor([3]),
        forged_cursor(None),
        forged_cursor({"after": 2**63}),
    ],
    ids=[
        "garbage",
        "not-base64",
        "string-id",
        "negative-id",
        "boolean-id",
        "wrong-member",
        "list",
        "null",
        "id-beyond-64-bits",
    ],
)
@pytest.mark.parametrize("path", list(LISTS))
def test_a_cursor_the_service_did_not_hand_out_is_invalid_cursor(
    client: TestClient, catalog: Catalog, path: str, cursor: str
) -> None:
    body = assert_problem(client.get(API + path, params={"cursor": cursor}), 400, "invalid_cursor")
    assert "cursor" in body["detail"]


# Filters -----------------------------------------------------------------------------------


def test_courses_filter_by_source(client: TestClient, catalog: Catalog) -> None:
    assert keys_of(client.get(API + "/courses", params={"source": "exec-ed"})) == [
        "MITx+DS101",
        "MITx+ML201",
    ]
    assert keys_of(client.get(API + "/courses", params={"source": "bootcamps"})) == [
        "HarvardX+CODE100"
    ]
    assert keys_of(client.get(API + "/courses", params={"source": "nobody"})) == []


def test_courses_filter_by_organization(client: TestClient, catalog: Catalog) -> None:
    assert keys_of(client.get(API + "/courses", params={"organization": "HarvardX"})) == [
        "HarvardX+CODE100"
    ]
    assert keys_of(client.get(API + "/courses", params={"organization": "Wharton"})) == []


def test_courses_filter_by_product_status(client: TestClient, catalog: Catalog) -> None:
    assert keys_of(client.get(API + "/courses", params={"status": "archived"})) == ["MITx+ML201"]
    assert keys_of(client.get(API + "/courses", params={"status": "published"})) == [
        "MITx+DS101",
        "HarvardX+CODE100",
    ]


def test_courses_filter_by_modified_since(client: TestClient, catalog: Catalog) -> None:
    response = client.get(API + "/courses", params={"modified_since": catalog.cutoff.isoformat()})

    assert keys_of(response) == ["HarvardX+CODE100"]
    assert moment(response.json()["results"][0]["modified"]) >= catalog.cutoff


def test_modified_since_accepts_a_z_suffix(client: TestClient, catalog: Catalog) -> None:
    since = catalog.cutoff.isoformat().replace("+00:00", "Z")

    assert keys_of(client.get(API + "/courses", params={"modified_since": since})) == [
        "HarvardX+CODE100"
    ]


def test_filters_combine(client: TestClient, catalog: Catalog) -> None:
    response = client.get(
        API + "/courses",
        params={"source": "exec-ed", "organization": "MITx", "status": "published"},
    )

    assert keys_of(response) == ["MITx+DS101"]


def test_course_runs_filter_by_source_organization_and_status(
    client: TestClient, catalog: Catalog
) -> None:
    runs = API + "/course-runs"
    assert keys_of(client.get(runs, params={"source": "bootcamps"})) == [
        "course-v1:HarvardX+CODE100+2T2027"
    ]
    assert keys_of(client.get(runs, params={"organization": "MITx"})) == [
        "course-v1:MITx+DS101+1T2027",
        "course-v1:MITx+DS101+3T2027",
        "course-v1:MITx+ML201+1T2027",
    ]
    assert keys_of(client.get(runs, params={"status": "archived"})) == [
        "course-v1:MITx+ML201+1T2027"
    ]
    assert keys_of(client.get(runs, params={"status": "published"})) == []


def test_course_runs_filter_by_their_own_modified_since(
    client: TestClient, catalog: Catalog
) -> None:
    response = client.get(
        API + "/course-runs", params={"modified_since": catalog.cutoff.isoformat()}
    )

    assert keys_of(response) == ["course-v1:MITx+DS101+3T2027"]


def test_degrees_filter_by_source_organization_status_and_modified_since(
    client: TestClient, catalog: Catalog
) -> None:
    degrees = API + "/degrees"
    field = "marketing_slug"
    assert keys_of(client.get(degrees, params={"source": "exec-ed"}), field) == [
        "masters-data-science"
    ]
    assert keys_of(client.get(degrees, params={"organization": "HarvardX"}), field) == [
        "software-engineering-certificate"
    ]
    assert keys_of(client.get(degrees, params={"status": "published"}), field) == [
        "masters-data-science"
    ]
    assert keys_of(client.get(degrees, params={"status": "archived"}), field) == [
        "software-engineering-certificate"
    ]
    since = {"modified_since": catalog.cutoff.isoformat()}
    assert keys_of(client.get(degrees, params=since), field) == ["software-engineering-certificate"]


def test_organizations_filter_by_modified_since(client: TestClient, catalog: Catalog) -> None:
    response = client.get(
        API + "/organizations", params={"modified_since": catalog.cutoff.isoformat()}
    )

    assert keys_of(response) == ["Wharton"]


@pytest.mark.parametrize("path", ["/courses", "/course-runs", "/degrees"])
def test_an_unknown_status_is_an_invalid_request(client: TestClient, path: str) -> None:
    body = assert_problem(
        client.get(API + path, params={"status": "deleted"}), 400, "invalid_request"
    )
    assert "status" in body["detail"]


def test_a_run_status_is_not_a_course_status(client: TestClient) -> None:
    assert_problem(
        client.get(API + "/courses", params={"status": "unpublished"}), 400, "invalid_request"
    )


@pytest.mark.parametrize("path", list(LISTS))
def test_an_unreadable_modified_since_is_an_invalid_request(client: TestClient, path: str) -> None:
    assert_problem(
        client.get(API + path, params={"modified_since": "last tuesday"}), 400, "invalid_request"
    )


# Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/courses/MITx+NOPE",
        "/courses/MITx",
        "/course-runs/course-v1:MITx+DS101+2T2031",
        f"/instructors/{uuid.UUID(int=7)}",
        "/degrees/no-such-degree",
    ],
)
def test_unknown_items_are_not_found_problems(
    client: TestClient, catalog: Catalog, path: str
) -> None:
    assert_problem(client.get(API + path), 404, "not_found")


def test_not_found_problem_has_rfc9457_members(client: TestClient) -> None:
    body = assert_problem(client.get(API + "/courses/MITx+NOPE"), 404, "not_found")

    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert "MITx+NOPE" in body["detail"]


def test_an_invalid_instructor_uuid_is_an_invalid_request(client: TestClient) -> None:
    assert_problem(client.get(API + "/instructors/not-a-uuid"), 400, "invalid_request")


def test_an_unknown_route_is_a_not_found_problem(client: TestClient) -> None:
    assert_problem(client.get(API + "/spaceships"), 404, "not_found")
    assert_problem(client.get("/no/such/page"), 404, "not_found")


def test_a_wrong_method_is_a_method_not_allowed_problem(client: TestClient) -> None:
    response = client.post(API + "/courses", json={"title": "x"})

    body = assert_problem(response, 405, "method_not_allowed")
    assert body["title"] == "Method Not Allowed"
    assert "GET" in response.headers["allow"]


def test_a_wrong_method_on_an_item_is_a_method_not_allowed_problem(
    client: TestClient, catalog: Catalog
) -> None:
    assert_problem(client.delete(API + "/courses/MITx+DS101"), 405, "method_not_allowed")
    assert client.get(API + "/courses/MITx+DS101").status_code == 200
