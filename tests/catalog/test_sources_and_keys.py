"""Sources (slug, rate, burst, event types, org codes) and API keys (issued once, stored hashed)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select, text

from catalog_gateway.auth.keys import authenticate, hash_key, issue_key, revoke_key
from catalog_gateway.auth.models import ApiKey
from catalog_gateway.catalog.changes import Action
from catalog_gateway.catalog.organizations import ensure_organization
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import (
    ConflictError,
    ErrorCode,
    InvalidValueError,
    NotFoundError,
)
from catalog_gateway.events.types import EventType
from catalog_gateway.sources.models import Source, SourceOrganizationCode
from catalog_gateway.sources.service import (
    check_rate,
    create_source,
    get_source,
    map_organization_code,
    update_source,
)
from tests.factories import INSTALLED

ALL_EVENT_TYPES = [event_type.value for event_type in EventType]


def new_source(
    database: Database,
    slug: str = "exec-ed",
    *,
    rate: str = "50/second",
    burst: int = 100,
    event_types: list[str] | None = None,
) -> str:
    """Create a source and return its first API key."""
    with database.unit_of_work() as session:
        _, issued = create_source(
            session,
            slug,
            transformer="canonical",
            installed=INSTALLED,
            rate=rate,
            burst=burst,
            event_types=event_types,
        )
        return issued.api_key


def source_count(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Source)) or 0


# --- slugs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["ab", "exec-ed", "exec-ed-2", "2u", "a" * 64])
def test_create_source_accepts_slugs_of_2_to_64_lowercase_letters_digits_and_dashes(
    database: Database, slug: str
) -> None:
    new_source(database, slug)
    with database.read() as session:
        assert get_source(session, slug).slug == slug


@pytest.mark.parametrize(
    "slug",
    ["", "a", "a" * 65, "Exec-ed", "exec_ed", "exec ed", "exec.ed", "exéc", "exec-ed\n", "/x"],
)
def test_create_source_refuses_a_malformed_slug(database: Database, slug: str) -> None:
    with pytest.raises(InvalidValueError) as raised, database.unit_of_work() as session:
        create_source(
            session, slug, transformer="canonical", installed=INSTALLED, rate="50/second", burst=100
        )
    assert raised.value.code == ErrorCode.INVALID_REQUEST
    assert raised.value.field == "slug"
    assert source_count(database) == 0


def test_create_source_refuses_a_slug_already_taken(database: Database) -> None:
    new_source(database, "exec-ed", rate="50/second")
    with pytest.raises(ConflictError) as raised, database.unit_of_work() as session:
        create_source(
            session,
            "exec-ed",
            transformer="canonical",
            installed=INSTALLED,
            rate="1/second",
            burst=1,
        )
    assert raised.value.code == ErrorCode.SOURCE_EXISTS
    with database.read() as session:
        source = get_source(session, "exec-ed")
        assert (source.transformer, source.rate) == ("canonical", "50/second")
    assert source_count(database) == 1


def test_get_source_of_an_unknown_slug_is_unknown_source(database: Database) -> None:
    with pytest.raises(NotFoundError) as raised, database.read() as session:
        get_source(session, "nobody")
    assert raised.value.code == ErrorCode.UNKNOWN_SOURCE


# --- rate and burst -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("1000 per minute", "1000/minute"),
        ("1000/minute", "1000/minute"),
        ("50/second", "50/second"),
        ("50 per second", "50/second"),
        ("3000/hour", "3000/hour"),
        ("10/2 minutes", "10/2 minutes"),
    ],
)
def test_check_rate_normalises_to_slash_notation(given: str, normalised: str) -> None:
    assert check_rate(given) == normalised
    assert check_rate(normalised) == normalised


@pytest.mark.parametrize("rate", ["fast", "", "1000", "per minute", "-5/second", "ten/second"])
def test_check_rate_refuses_what_it_cannot_read(rate: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        check_rate(rate)
    assert raised.value.code == ErrorCode.INVALID_RATE
    assert raised.value.field == "rate"


def test_create_source_stores_the_normalised_rate(database: Database) -> None:
    new_source(database, rate="1000 per minute", burst=7)
    with database.read() as session:
        source = get_source(session, "exec-ed")
        assert (source.rate, source.burst) == ("1000/minute", 7)


def test_create_source_refuses_an_unreadable_rate(database: Database) -> None:
    with pytest.raises(InvalidValueError) as raised:
        new_source(database, rate="fast")
    assert raised.value.code == ErrorCode.INVALID_RATE
    assert source_count(database) == 0


@pytest.mark.parametrize("burst", [0, -1])
def test_create_source_refuses_a_burst_below_one(database: Database, burst: int) -> None:
    with pytest.raises(InvalidValueError) as raised:
        new_source(database, burst=burst)
    assert raised.value.code == ErrorCode.INVALID_RATE
    assert raised.value.field == "burst"
    assert source_count(database) == 0


def test_create_source_accepts_a_burst_of_one(database: Database) -> None:
    new_source(database, burst=1)
    with database.read() as session:
        assert get_source(session, "exec-ed").burst == 1


# --- event types ----------------------------------------------------------------------------


def test_create_source_without_event_types_allows_all_of_them(database: Database) -> None:
    new_source(database)
    with database.read() as session:
        assert get_source(session, "exec-ed").allowed_event_types == ALL_EVENT_TYPES


def test_create_source_keeps_the_given_event_types_in_a_stable_order(database: Database) -> None:
    new_source(database, event_types=["product.retire", "course.upsert"])
    with database.read() as session:
        allowed = get_source(session, "exec-ed").allowed_event_types
    assert allowed == ["course.upsert", "product.retire"]


def test_create_source_refuses_an_unknown_event_type(database: Database) -> None:
    with pytest.raises(InvalidValueError) as raised:
        new_source(database, event_types=["course.upsert", "course.delete"])
    assert raised.value.code == ErrorCode.UNKNOWN_EVENT_TYPE
    assert "course.delete" in raised.value.message
    assert source_count(database) == 0


def test_update_source_changes_only_what_is_given(database: Database) -> None:
    new_source(database, rate="50/second", burst=100, event_types=["course.upsert"])
    with database.unit_of_work() as session:
        result = update_source(session, "exec-ed", rate="100 per second")
    assert result.action is Action.UPDATED
    with database.unit_of_work() as session:
        again = update_source(session, "exec-ed", rate="100/second", burst=100)
    assert again.action is Action.UNCHANGED
    with database.read() as session:
        source = get_source(session, "exec-ed")
        assert (source.rate, source.burst) == ("100/second", 100)
        assert source.allowed_event_types == ["course.upsert"]


# --- organization codes ---------------------------------------------------------------------


def test_map_organization_code_creates_then_keeps_then_remaps(database: Database) -> None:
    new_source(database)
    with database.unit_of_work() as session:
        ensure_organization(session, "MITx", "MIT")
        ensure_organization(session, "HarvardX", "Harvard")
        assert map_organization_code(session, "exec-ed", "MIT", "MITx").action is Action.CREATED
    with database.unit_of_work() as session:
        assert map_organization_code(session, "exec-ed", "MIT", "MITx").action is Action.UNCHANGED
    with database.unit_of_work() as session:
        assert map_organization_code(session, "exec-ed", "MIT", "HarvardX").action is Action.UPDATED
    with database.read() as session:
        codes = session.scalars(select(SourceOrganizationCode)).all()
        assert len(codes) == 1
        assert codes[0].external_code == "MIT"


def test_map_organization_code_to_an_unknown_organization_is_refused(database: Database) -> None:
    new_source(database)
    with pytest.raises(NotFoundError) as raised, database.unit_of_work() as session:
        map_organization_code(session, "exec-ed", "MIT", "MITx")
    assert raised.value.code == ErrorCode.UNKNOWN_ORGANIZATION


# --- API keys -------------------------------------------------------------------------------


def test_create_source_returns_a_first_key_that_authenticates_as_the_source(
    database: Database,
) -> None:
    api_key = new_source(database)
    with database.read() as session:
        stored = authenticate(session, api_key)
        assert stored is not None
        assert stored.source_id == get_source(session, "exec-ed").id
        assert stored.is_admin is False


def test_issued_key_is_stored_only_as_its_sha256(database: Database) -> None:
    new_source(database)
    with database.unit_of_work() as session:
        issued = issue_key(session, source=get_source(session, "exec-ed"))
    assert issued.api_key.startswith("cgw_")
    assert issued.id.startswith("key_")
    secret = issued.api_key.removeprefix("cgw_")
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    with database.read() as session:
        row = session.execute(
            text("SELECT * FROM api_keys WHERE id = :id"), {"id": issued.id}
        ).one()
    assert row.key_hash == hashlib.sha256(issued.api_key.encode()).hexdigest()
    assert all(secret not in str(value) for value in row)


def test_issued_keys_differ(database: Database) -> None:
    new_source(database)
    with database.unit_of_work() as session:
        source = get_source(session, "exec-ed")
        first, second = issue_key(session, source=source), issue_key(session, source=source)
    assert first.api_key != second.api_key
    assert first.id != second.id


def test_authenticate_refuses_an_unknown_key(database: Database) -> None:
    api_key = new_source(database)
    with database.read() as session:
        assert authenticate(session, api_key + "x") is None
        assert authenticate(session, "") is None
        assert authenticate(session, hash_key(api_key)) is None


def test_revoke_key_by_id_stops_it_authenticating(database: Database) -> None:
    new_source(database)
    with database.unit_of_work() as session:
        issued = issue_key(session, source=get_source(session, "exec-ed"))
    with database.unit_of_work() as session:
        revoked = revoke_key(session, issued.id)
        assert revoked.revoked is not None
    with database.read() as session:
        assert authenticate(session, issued.api_key) is None


def test_revoke_key_by_the_key_itself_stops_it_authenticating(database: Database) -> None:
    api_key = new_source(database)
    with database.unit_of_work() as session:
        revoke_key(session, api_key)
    with database.read() as session:
        assert authenticate(session, api_key) is None


def test_revoking_one_key_leaves_the_sources_other_keys(database: Database) -> None:
    first = new_source(database)
    with database.unit_of_work() as session:
        second = issue_key(session, source=get_source(session, "exec-ed"))
    with database.unit_of_work() as session:
        revoke_key(session, first)
    with database.read() as session:
        assert authenticate(session, first) is None
        assert authenticate(session, second.api_key) is not None


def test_revoking_twice_keeps_the_first_revocation_time(database: Database) -> None:
    api_key = new_source(database)
    with database.unit_of_work() as session:
        first = revoke_key(session, api_key).revoked
    with database.unit_of_work() as session:
        again = revoke_key(session, api_key).revoked
    assert first is not None
    assert again == first


def test_revoke_of_an_unknown_key_is_unknown_key(database: Database) -> None:
    new_source(database)
    with pytest.raises(NotFoundError) as raised, database.unit_of_work() as session:
        revoke_key(session, "cgw_not-a-key")
    assert raised.value.code == ErrorCode.UNKNOWN_KEY


def test_admin_key_has_no_source(database: Database) -> None:
    with database.unit_of_work() as session:
        issued = issue_key(session)
    with database.read() as session:
        stored = authenticate(session, issued.api_key)
        assert stored is not None
        assert stored.is_admin is True
        assert stored.source_id is None
        assert stored.source is None
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 1
