"""Authorization over HTTP (issue 5 point 4, DESIGN §4: 401, 403 `not_owner`,
403 `event_type_not_allowed`), optional JWT bearer tokens, and constant-time key comparison.

Sources: `exec-ed` (A, calls MITx `MIT`) and `bootcamps` (B, names MITx by its key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pydantic
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog_gateway.auth import keys as keys_module
from catalog_gateway.auth.keys import authenticate, hash_key, issue_key
from catalog_gateway.auth.models import ApiKey
from catalog_gateway.catalog.models import Course, CourseRun, Degree, Instructor
from catalog_gateway.cli import app as cli_app
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import Settings, get_settings
from catalog_gateway.sources.service import get_source, update_source
from tests.factories import bearer, url_of
from tests.gateway.payloads import (
    COURSE_KEY,
    envelope,
    instructor_payload,
    product_payload,
    run_payload,
)
from tests.protection.conftest import (
    ClientFactory,
    add_source,
    assert_problem,
    count,
    instructor_event,
    logged_event_ids,
    policy_of,
    post_event,
)

SECRET = "s3cret-for-tests-0123456789abcdef"  # 32+ bytes: PyJWT warns about shorter ones


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def a_key(database: Database) -> str:
    return add_source(database, "exec-ed")


@pytest.fixture
def b_key(database: Database) -> str:
    return add_source(database, "bootcamps")


def _refused(response: Any, code: str) -> dict[str, Any]:
    """A 403 event answer (not a problem: it is about the event) with exactly that error."""
    assert response.status_code == 403, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "rejected"
    assert [e["code"] for e in answer["errors"]] == [code]
    assert answer["errors"][0]["message"]
    return answer


# --- revoked keys ----------------------------------------------------------------------------


@pytest.fixture
def cli(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`catalog-gateway …` in process, on the test database."""
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv("CATALOG_GATEWAY_DATABASE_URL", url_of(database))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result.stdout

    yield run
    get_settings.cache_clear()


def test_key_revoked_with_the_cli_is_401_on_events_and_the_event_log(
    make_client: ClientFactory, a_key: str, cli: Callable[..., str], database: Database
) -> None:
    client = make_client(auth_cache_seconds=0)
    assert post_event(client, instructor_event("before", "in-1"), a_key).status_code == 200
    assert client.get("/api/v1/events", headers=bearer(a_key)).status_code == 200

    cli("keys", "revoke", a_key)
    event = post_event(client, instructor_event("after", "in-2"), a_key)
    log = client.get("/api/v1/events", headers=bearer(a_key))
    one = client.get("/api/v1/events/before", headers=bearer(a_key))

    assert_problem(event, 401, "unauthorized")
    assert event.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(log, 401, "unauthorized")
    assert_problem(one, 401, "unauthorized")
    assert "after" not in logged_event_ids(database)
    assert count(database, Instructor) == 1


def test_revoking_one_key_by_id_leaves_the_sources_other_key_working(
    client: TestClient, a_key: str, cli: Callable[..., str], database: Database
) -> None:
    with database.unit_of_work() as session:
        second = issue_key(session, source=get_source(session, "exec-ed"))

    cli("keys", "revoke", second.id)

    assert_problem(
        post_event(client, instructor_event("e-1", "in-1"), second.api_key), 401, "unauthorized"
    )
    assert post_event(client, instructor_event("e-1", "in-1"), a_key).status_code == 200


def test_unknown_and_missing_keys_are_401(client: TestClient, a_key: str) -> None:
    unknown = post_event(client, instructor_event("e-1", "in-1"), "cgw_" + "x" * 43)
    missing = client.post("/api/v1/events", json=instructor_event("e-1", "in-1"))

    assert_problem(unknown, 401, "unauthorized")
    assert_problem(missing, 401, "unauthorized")


# --- allowed event types ----------------------------------------------------------------------


@pytest.fixture
def instructors_only(database: Database) -> str:
    """Source `faculty`, allowed to send instructor.upsert only."""
    return add_source(database, "faculty", events=["instructor.upsert"])


def test_event_type_not_allowed_is_403_and_writes_nothing(
    client: TestClient, instructors_only: str, database: Database
) -> None:
    response = post_event(client, envelope("p-1", product_payload()), instructors_only)

    answer = _refused(response, "event_type_not_allowed")
    assert answer["source"] == "faculty"
    assert "product.upsert" in answer["errors"][0]["message"]
    assert count(database, EventRecord) == 0
    assert count(database, Course) == 0
    assert count(database, Instructor) == 0
    assert client.get(f"/api/v1/courses/{COURSE_KEY}").status_code == 404


def test_allowed_event_type_goes_through(client: TestClient, instructors_only: str) -> None:
    response = post_event(client, instructor_event("i-1", "in-1"), instructors_only)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


def test_event_type_not_allowed_in_a_batch_is_refused_alone(
    client: TestClient, instructors_only: str, database: Database
) -> None:
    events = [instructor_event("i-1", "in-1"), envelope("p-1", product_payload())]

    response = client.post(
        "/api/v1/events/batch", json={"events": events}, headers=bearer(instructors_only)
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert [e["code"] for e in results[1]["errors"]] == ["event_type_not_allowed"]
    assert count(database, Course) == 0


def test_sources_update_events_allows_a_new_type(
    make_client: ClientFactory, instructors_only: str, database: Database
) -> None:
    client = make_client(auth_cache_seconds=0)  # no cached rate/profile
    assert (
        post_event(client, envelope("p-1", product_payload()), instructors_only).status_code == 403
    )

    with database.unit_of_work() as session:
        update_source(session, "faculty", event_types=["instructor.upsert", "product.upsert"])
    response = post_event(client, envelope("p-2", product_payload()), instructors_only)

    assert response.status_code == 200, response.text


# --- ownership --------------------------------------------------------------------------------


@pytest.fixture
def a_product(client: TestClient, a_key: str, b_key: str) -> dict[str, Any]:
    """A's complete product (MITx+DS101) and degree `masters-data-science`; the course as read."""
    response = post_event(client, envelope("a-1", product_payload()), a_key)
    assert response.status_code == 200, response.text
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MIT",
        "courses": ["xe-7001"],
    }
    response = post_event(client, envelope("a-2", {"degree": degree}, "degree.upsert"), a_key)
    assert response.status_code == 200, response.text
    course: dict[str, Any] = client.get(f"/api/v1/courses/{COURSE_KEY}").json()
    return course


def _b_product() -> dict[str, Any]:
    """B's product for the same course key as A's (MITx + DS101), under B's own external ids."""
    product = product_payload(
        external_id="bc-ds101", organization="MITx", number="DS101", title="Hijacked"
    )
    for instructor in product["instructors"]:
        instructor["position"]["organization"] = "Elsewhere"
    for run in product["course_runs"]:
        run["external_id"] = "bc-" + run["external_id"]
    return product


def test_product_for_another_sources_course_key_is_403_not_owner(
    client: TestClient, b_key: str, a_product: dict[str, Any], database: Database
) -> None:
    before = (count(database, Instructor), count(database, CourseRun), count(database, Course))

    response = post_event(client, envelope("b-1", _b_product()), b_key)

    answer = _refused(response, "not_owner")
    assert answer["source"] == "bootcamps"
    assert client.get(f"/api/v1/courses/{COURSE_KEY}").json() == a_product
    # nothing of B's event was written: not even its own instructors
    assert (count(database, Instructor), count(database, CourseRun), count(database, Course)) == (
        before
    )


def test_run_naming_another_sources_course_by_key_is_403_not_owner(
    client: TestClient, b_key: str, a_product: dict[str, Any], database: Database
) -> None:
    runs = count(database, CourseRun)
    event = envelope(
        "b-run-1",
        {"course": {"key": COURSE_KEY}, "run": run_payload(0, external_id="bc-run", staff=[])},
        "course_run.upsert",
    )

    response = post_event(client, event, b_key)

    answer = _refused(response, "not_owner")
    assert answer["errors"][0]["path"] == "/course/key"
    assert client.get(f"/api/v1/courses/{COURSE_KEY}").json() == a_product
    assert count(database, CourseRun) == runs


def test_degree_with_another_sources_marketing_slug_is_403_not_owner(
    client: TestClient, b_key: str, a_product: dict[str, Any], database: Database
) -> None:
    degree = {
        "external_id": "bc-deg",
        "marketing_slug": "masters-data-science",
        "title": "Taken Over",
        "program_type": "masters",
        "organization": "MITx",
    }
    before = client.get("/api/v1/degrees/masters-data-science").json()

    response = post_event(client, envelope("b-deg-1", {"degree": degree}, "degree.upsert"), b_key)

    answer = _refused(response, "not_owner")
    assert answer["errors"][0]["path"] == "/degree/marketing_slug"
    after = client.get("/api/v1/degrees/masters-data-science").json()
    assert after == before
    assert (after["title"], after["source"]) == ("Master of Data Science", "exec-ed")
    assert count(database, Degree) == 1


def test_retiring_another_sources_course_is_403_not_owner(
    client: TestClient, b_key: str, a_product: dict[str, Any]
) -> None:
    event = envelope("b-ret-1", {"course": {"key": COURSE_KEY}}, "product.retire")

    response = post_event(client, event, b_key)

    _refused(response, "not_owner")
    assert client.get(f"/api/v1/courses/{COURSE_KEY}").json() == a_product


def test_same_instructor_external_id_in_two_sources_is_two_people(
    client: TestClient, a_key: str, b_key: str, database: Database
) -> None:
    a_event = envelope("a-in", {"instructor": instructor_payload("in-1")}, "instructor.upsert")
    b_instructor = instructor_payload("in-1", given_name="Grace", family_name="Hopper")
    b_event = envelope("b-in", {"instructor": b_instructor}, "instructor.upsert")

    a_answer = post_event(client, a_event, a_key)
    b_answer = post_event(client, b_event, b_key)

    assert a_answer.status_code == 200, a_answer.text
    assert b_answer.status_code == 200, b_answer.text
    [a_uuid] = a_answer.json()["products"]["instructors"]
    [b_uuid] = b_answer.json()["products"]["instructors"]
    assert a_uuid != b_uuid
    a_read = client.get(f"/api/v1/instructors/{a_uuid}").json()
    b_read = client.get(f"/api/v1/instructors/{b_uuid}").json()
    assert (a_read["source"], a_read["external_id"], a_read["given_name"]) == (
        "exec-ed",
        "in-1",
        "Ada",
    )
    assert (b_read["source"], b_read["external_id"], b_read["given_name"]) == (
        "bootcamps",
        "in-1",
        "Grace",
    )
    assert count(database, Instructor) == 2


# --- JWT bearer tokens ------------------------------------------------------------------------


def _token(claims: dict[str, Any], key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _claims(source: str = "exec-ed", expires_in: float = 60, **more: Any) -> dict[str, Any]:
    return {"source": source, "exp": int(time.time() + expires_in), **more}


@pytest.fixture
def jwt_client(make_client: ClientFactory, a_key: str) -> TestClient:
    return make_client(jwt_secret=SECRET)


def test_hs256_token_sends_events_and_reads_as_its_source(
    jwt_client: TestClient, database: Database
) -> None:
    token = _token(_claims())

    sent = post_event(jwt_client, instructor_event("jwt-1", "in-1"), token)
    log = jwt_client.get("/api/v1/events", headers=bearer(token))
    one = jwt_client.get("/api/v1/events/jwt-1", headers=bearer(token))

    assert sent.status_code == 200, sent.text
    assert sent.json()["source"] == "exec-ed"
    assert sent.json()["status"] == "applied"
    assert policy_of(sent)["name"] == "events"
    assert log.status_code == 200, log.text
    assert [r["event_id"] for r in log.json()["results"]] == ["jwt-1"]
    assert one.status_code == 200, one.text
    assert one.json()["source"] == "exec-ed"


def test_a_short_hs256_secret_is_refused_at_start_up() -> None:
    with pytest.raises(pydantic.ValidationError, match="at least 32 bytes"):
        Settings(jwt_secret="s3cret")


def test_api_keys_keep_working_beside_tokens(jwt_client: TestClient, a_key: str) -> None:
    response = post_event(jwt_client, instructor_event("key-1", "in-1"), a_key)

    assert response.status_code == 200, response.text


def _alg_none(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: _token(_claims(expires_in=-30)), id="expired"),
        pytest.param(
            lambda: _token(_claims(), key="another-secret-0123456789abcdefgh"), id="wrong-signature"
        ),
        pytest.param(lambda: _token(_claims(source="nobody")), id="unknown-source"),
        pytest.param(lambda: _token({"exp": int(time.time()) + 60}), id="no-source-claim"),
        pytest.param(lambda: _token(_claims(source=["exec-ed"])), id="source-not-a-string"),
        pytest.param(lambda: _token({"source": "exec-ed"}), id="no-expiry"),
        pytest.param(lambda: _alg_none(_claims()), id="alg-none"),
        pytest.param(lambda: _token(_claims())[:-4] + "AAAA", id="tampered"),
    ],
)
def test_bad_tokens_are_401(
    jwt_client: TestClient, make_token: Callable[[], str], database: Database
) -> None:
    token = make_token()

    event = post_event(jwt_client, instructor_event("bad-1", "in-1"), token)
    read = jwt_client.get("/api/v1/events", headers=bearer(token))

    assert_problem(event, 401, "unauthorized")
    assert_problem(read, 401, "unauthorized")
    assert count(database, EventRecord) == 0


def test_tokens_are_refused_when_jwt_is_not_configured(client: TestClient, a_key: str) -> None:
    token = _token(_claims())

    assert_problem(post_event(client, instructor_event("t-1", "in-1"), token), 401, "unauthorized")


def test_required_audience_and_issuer_are_checked(make_client: ClientFactory, a_key: str) -> None:
    client = make_client(jwt_secret=SECRET, jwt_audience="catalog", jwt_issuer="idp.example")
    good = _token(_claims(aud="catalog", iss="idp.example"))
    wrong_audience = _token(_claims(aud="elsewhere", iss="idp.example"))
    no_issuer = _token(_claims(aud="catalog"))

    assert post_event(client, instructor_event("a-1", "in-1"), good).status_code == 200
    assert_problem(
        post_event(client, instructor_event("a-2", "in-2"), wrong_audience), 401, "unauthorized"
    )
    assert_problem(
        post_event(client, instructor_event("a-3", "in-3"), no_issuer), 401, "unauthorized"
    )


def test_rs256_token_verified_with_the_public_key(make_client: ClientFactory, a_key: str) -> None:
    pytest.importorskip(
        "cryptography",
        reason="`cryptography` is not installed in this environment: PyJWT can neither sign nor "
        "verify RS256 without it (so `CATALOG_GATEWAY_JWT_PUBLIC_KEY` cannot work here either)",
    )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    client = make_client(jwt_public_key=public_pem)
    good = jwt.encode(_claims(), private, algorithm="RS256")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(), other, algorithm="RS256")
    confused = _hs256_signed_with(public_pem, _claims())  # algorithm confusion

    response = post_event(client, instructor_event("rs-1", "in-1"), good)

    assert response.status_code == 200, response.text
    assert response.json()["source"] == "exec-ed"
    assert_problem(
        post_event(client, instructor_event("rs-2", "in-2"), forged), 401, "unauthorized"
    )
    assert_problem(
        post_event(client, instructor_event("rs-3", "in-3"), confused), 401, "unauthorized"
    )


def _hs256_signed_with(secret: str, claims: dict[str, object]) -> str:
    """A token HMAC-signed with `secret` by hand (PyJWT refuses to use a PEM as a secret)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{part(signature)}"


# --- constant-time comparison of key hashes --------------------------------------------------


class CompareSpy:
    """Stands in for `hmac.compare_digest`: records its calls, answers as told (or as it)."""

    def __init__(self, answer: bool | None = None) -> None:
        self.calls: list[tuple[Any, Any]] = []
        self.answer = answer
        self.original = hmac.compare_digest

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.original(a, b) if self.answer is None else self.answer


def test_authenticate_compares_hashes_with_compare_digest(
    database: Database, a_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = CompareSpy()
    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)

    with database.read() as session:
        stored = authenticate(session, a_key)
        stored_hash = stored.key_hash if stored else None

    assert stored_hash is not None
    assert (stored_hash, keys_module.hash_key(a_key)) in spy.calls


def test_key_check_over_http_goes_through_compare_digest_and_obeys_it(
    make_client: ClientFactory, a_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every request asks the database: with the auth cache, a key seen moments ago is found
    # by its SHA-256 digest, whose timing tells nothing about the key.
    client = make_client(auth_cache_seconds=0)
    spy = CompareSpy()
    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    accepted = post_event(client, instructor_event("ct-1", "in-1"), a_key)

    refusing = CompareSpy(answer=False)
    monkeypatch.setattr(keys_module.hmac, "compare_digest", refusing)
    refused = post_event(client, instructor_event("ct-2", "in-2"), a_key)

    assert accepted.status_code == 200, accepted.text
    assert spy.calls, "the key was accepted without hmac.compare_digest"
    # its verdict is the one that counts
    assert refusing.calls
    assert_problem(refused, 401, "unauthorized")


def test_a_revoked_key_stops_working_once_the_auth_cache_expires(
    make_client: ClientFactory, a_key: str, cli: Callable[..., str], database: Database
) -> None:
    client = make_client(auth_cache_seconds=0.5)
    assert post_event(client, instructor_event("before", "in-1"), a_key).status_code == 200

    cli("keys", "revoke", a_key)
    time.sleep(0.6)
    after = post_event(client, instructor_event("after", "in-2"), a_key)

    assert_problem(after, 401, "unauthorized")
    assert "after" not in logged_event_ids(database)


def test_an_unknown_key_is_remembered_as_unknown(
    make_client: ClientFactory, a_key: str, database: Database
) -> None:
    client = make_client(auth_cache_seconds=60)
    unknown = "cgw_" + "y" * 43

    first = post_event(client, instructor_event("e-1", "in-1"), unknown)
    with database.unit_of_work() as session:  # the key now exists, but the process said no
        source = get_source(session, "exec-ed")
        session.add(ApiKey(id="key_cached0000000", key_hash=hash_key(unknown), source=source))
    second = post_event(client, instructor_event("e-1", "in-1"), unknown)

    assert_problem(first, 401, "unauthorized")
    assert_problem(second, 401, "unauthorized")
