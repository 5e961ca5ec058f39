"""A key remembers when it was last used, to the minute: `keys list` and the console show it,
so an operator can tell a key in use from one to revoke. Not every use is written (that would
be a write per request): a use within a minute of the last noted one is not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from catalog_gateway.auth.models import ApiKey
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from tests.api.conftest import ClientFactory, Keys
from tests.factories import bearer


def last_used(database: Database) -> list[tuple[bool, object]]:
    """(admin?, last_used) of every key, admin keys first."""
    with database.read() as session:
        rows = session.execute(
            select(ApiKey.is_admin, ApiKey.last_used).order_by(
                ApiKey.is_admin.desc(), ApiKey.created
            )
        ).all()
    return [(admin, used) for admin, used in rows]


def test_a_request_notes_when_its_key_was_used(
    make_client: ClientFactory, database: Database, keys: Keys
) -> None:
    client = make_client(auth_cache_seconds=0)
    before = utcnow()

    response = client.get("/api/v1/courses", headers=bearer(keys.admin))

    assert response.status_code == 200
    [(admin, noted), *sources] = last_used(database)
    assert admin is True
    assert noted is not None
    assert before <= noted <= utcnow()
    assert sources
    assert all(used is None for _, used in sources)  # the source's keys were not used


def test_a_use_within_a_minute_of_the_last_noted_one_is_not_written(
    make_client: ClientFactory, database: Database, keys: Keys
) -> None:
    client = make_client(auth_cache_seconds=0)
    noted = utcnow() - timedelta(seconds=30)
    with database.unit_of_work() as session:
        session.execute(update(ApiKey).where(ApiKey.is_admin).values(last_used=noted))

    assert client.get("/api/v1/courses", headers=bearer(keys.admin)).status_code == 200

    assert last_used(database)[0] == (True, noted)


def test_a_use_after_a_minute_is_noted_again(
    make_client: ClientFactory, database: Database, keys: Keys
) -> None:
    client = make_client(auth_cache_seconds=0)
    long_ago = utcnow() - timedelta(minutes=5)
    with database.unit_of_work() as session:
        session.execute(update(ApiKey).where(ApiKey.is_admin).values(last_used=long_ago))

    assert client.get("/api/v1/courses", headers=bearer(keys.admin)).status_code == 200

    admin, noted = last_used(database)[0]
    assert admin is True
    assert noted is not None
    assert noted > long_ago + timedelta(minutes=4)


def test_a_revoked_key_is_not_noted(
    make_client: ClientFactory, database: Database, keys: Keys
) -> None:
    client = make_client(auth_cache_seconds=0)

    assert client.get("/api/v1/events", headers=bearer(keys.revoked)).status_code == 401

    assert all(used is None for _, used in last_used(database))
