"""Fixtures for the HTTP API: a client on the test database, and a catalog to read.

The catalog is filled through the catalog service (the same upserts the gateway runs), in two
units of work: everything is written first, then `cutoff` is taken, then a few things change,
so `modified_since=cutoff` has an exact expected answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.auth.keys import issue_key, revoke_key
from catalog_gateway.catalog.courses import find_course, retire_course, upsert_course
from catalog_gateway.catalog.degrees import find_degree, retire_degree, upsert_degree
from catalog_gateway.catalog.inputs import CourseInput, CourseRunInput
from catalog_gateway.catalog.instructors import upsert_instructor
from catalog_gateway.catalog.runs import sync_seats, upsert_course_run
from catalog_gateway.catalog.vocabulary import load_vocabulary
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from catalog_gateway.sources.service import get_source
from tests.factories import (
    at,
    course_input,
    degree_input,
    instructor_input,
    make_admin_key,
    make_organization,
    make_source,
    organization,
    run_input,
    seat_input,
    url_of,
)
from tests.factories import catalog as catalog_state

ClientFactory = Callable[..., TestClient]

API = "/api/v1"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}

SEAT_SKU = "8CF08E5"


@pytest.fixture
def make_client(database: Database) -> Iterator[ClientFactory]:
    """Build clients on the test database with other settings, e.g. `reads_require_key=True`."""
    clients: list[TestClient] = []

    def build(**settings: Any) -> TestClient:
        app = create_app(Settings(database_url=url_of(database), **settings), database)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """A client of the service with default settings (reads need no key)."""
    return make_client()


def _autumn_run(**changes: Any) -> CourseRunInput:
    """DS101's second run, September 2027 (term 3T2027), a cheaper seat."""
    data: dict[str, Any] = {
        "start": at(2027, 9, 6),
        "end": at(2027, 11, 1, 23, 59),
        "enrollment_end": at(2027, 8, 30),
        "seats": [seat_input("1999.50")],
    }
    return run_input("variant-2", **(data | changes))


@dataclass(frozen=True)
class Catalog:
    """What the `catalog` fixture wrote, for assertions."""

    ds101_uuid: uuid.UUID
    instructor_uuid: uuid.UUID
    cutoff: datetime

    courses = ("MITx+DS101", "MITx+ML201", "HarvardX+CODE100")
    course_runs = (
        "course-v1:MITx+DS101+1T2027",
        "course-v1:MITx+DS101+3T2027",
        "course-v1:MITx+ML201+1T2027",
        "course-v1:HarvardX+CODE100+2T2027",
    )
    degrees = ("masters-data-science", "software-engineering-certificate")
    organizations = ("MITx", "HarvardX", "Wharton")


@pytest.fixture
def catalog(database: Database) -> Catalog:
    """Two sources' products.

    - `exec-ed` (MITx): instructor Ada (`in-1`); course MITx+DS101 with a February 2027 run
      (seat 2800.00 USD, SKU 8CF08E5, staff Ada) and a September 2027 run (seat 1999.50 USD);
      course MITx+ML201, retired (archived, its run archived too); degree masters-data-science
      (DS101 then ML201).
    - `bootcamps` (HarvardX): course HarvardX+CODE100 with a May 2027 run (seat 12000.00 USD);
      degree software-engineering-certificate (CODE100).

    After `cutoff`: CODE100's title changed, DS101's September seat repriced to 2100.00, the
    certificate retired, organization Wharton created. Nothing else changes after it.
    """
    with database.unit_of_work() as session:
        vocabulary = load_vocabulary(session)
        make_organization(session, "MITx")
        exec_ed, _ = make_source(session, "exec-ed", rate="50/second", burst=100)
        make_organization(session, "HarvardX")
        bootcamps, _ = make_source(session, "bootcamps", rate="10/second", burst=10)
        mitx = organization(session, exec_ed.id)
        harvardx = organization(session, bootcamps.id, "HarvardX")

        with catalog_state(session, exec_ed.id) as state:
            ada = upsert_instructor(state, instructor_input()).entity

            ds101 = upsert_course(state, course_input(), vocabulary, mitx).entity
            february = run_input(staff=["in-1"])
            run = upsert_course_run(state, ds101, february, vocabulary).entity
            sync_seats(state, run, february.seats, vocabulary)
            run.seats[0].sku = SEAT_SKU  # as ecommerce would have assigned it on publication
            autumn = _autumn_run()
            run = upsert_course_run(state, ds101, autumn, vocabulary).entity
            sync_seats(state, run, autumn.seats, vocabulary)

            ml201 = upsert_course(
                state,
                course_input("xe-7002", number="ML201", title="Machine Learning Strategy"),
                vocabulary,
                mitx,
            ).entity
            upsert_course_run(state, ml201, run_input("variant-ml"), vocabulary)
            retire_course(state, ml201)

            upsert_degree(state, degree_input(courses=["xe-7001", "xe-7002"]), vocabulary, mitx)

        with catalog_state(session, bootcamps.id) as state:
            code100 = upsert_course(
                state, _bootcamp_course(title="Software Engineering Bootcamp"), vocabulary, harvardx
            ).entity
            cohort = run_input(
                "cohort-1",
                start=at(2027, 5, 3),
                end=at(2027, 8, 27),
                run_type="paid-bootcamp",
                seats=[seat_input("12000.00", type="paid-bootcamp")],
            )
            run = upsert_course_run(state, code100, cohort, vocabulary).entity
            sync_seats(state, run, cohort.seats, vocabulary)

            upsert_degree(
                state,
                degree_input(
                    "cert-1",
                    marketing_slug="software-engineering-certificate",
                    title="Software Engineering Certificate",
                    program_type="professional-certificate",
                    organization="HarvardX",
                    courses=["bc-100"],
                    primary_subject="computer-science",
                ),
                vocabulary,
                harvardx,
            )
        ds101_uuid, instructor_uuid = ds101.uuid, ada.uuid

    time.sleep(0.005)
    cutoff = utcnow()
    time.sleep(0.005)

    with database.unit_of_work() as session:
        vocabulary = load_vocabulary(session)
        bootcamps = get_source(session, "bootcamps")
        with catalog_state(session, bootcamps.id) as state:
            upsert_course(
                state,
                _bootcamp_course(title="Full-Stack Software Bootcamp"),
                vocabulary,
                organization(session, bootcamps.id, "HarvardX"),
            )
            retire_degree(state, find_degree(state, "cert-1"))
        exec_ed = get_source(session, "exec-ed")
        with catalog_state(session, exec_ed.id) as state:
            ds101 = find_course(state, external_id="xe-7001")
            autumn = _autumn_run(seats=[seat_input("2100.00")])
            run = upsert_course_run(state, ds101, autumn, vocabulary).entity
            sync_seats(state, run, autumn.seats, vocabulary)
        make_organization(session, "Wharton", "The Wharton School")

    return Catalog(ds101_uuid=ds101_uuid, instructor_uuid=instructor_uuid, cutoff=cutoff)


def _bootcamp_course(title: str) -> CourseInput:
    return course_input(
        "bc-100",
        organization="HarvardX",
        number="CODE100",
        title=title,
        course_type="bootcamp-2u",
        subjects=["computer-science"],
        entitlement={"seat_type": "paid-bootcamp", "price": "12000.00", "currency": "USD"},
        marketing=None,
    )


@dataclass(frozen=True)
class Keys:
    """API keys issued on the test database."""

    source: str
    admin: str
    revoked: str


@pytest.fixture
def keys(database: Database) -> Keys:
    """A live key of source `marketing-site`, an admin key, and a revoked source key."""
    with database.unit_of_work() as session:
        source, _ = make_source(session, "marketing-site", rate="50/second", burst=100)
        live = issue_key(session, source=source)
        admin = make_admin_key(session)
        revoked = issue_key(session, source=source)
        revoke_key(session, revoked.id)
    return Keys(source=live.api_key, admin=admin.api_key, revoked=revoked.api_key)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with exactly the contract's members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body
