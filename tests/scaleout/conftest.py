"""Fixtures for scale-out: the test Redis (`redis://127.0.0.1:6379/15`, or
`CATALOG_GATEWAY_TEST_REDIS_URL`; skipped when unreachable, except in CI where it must be
there), a proxy in front of it that a test can cut, and names no other test uses.

Only keys these tests made are deleted (they carry a unique tag); nothing else in Redis is
touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis.connection import parse_url

from tests.ecommerce.conftest import api_key  # noqa: F401 (a fixture: source exec-ed, MITx)
from tests.factories import free_port
from tests.scaleout.redis_proxy import RedisProxy
from tests.servers import redis_client, require_redis


def delete_keys(pattern: str) -> None:
    """Delete the test Redis's keys matching `pattern` (a test's own, by its unique tag)."""
    client = redis_client()
    try:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; skipped when unreachable, except in CI."""
    return require_redis()


@pytest.fixture
def tag() -> str:
    """A tag no other test (or earlier run) uses, for names in Redis."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def proxy(redis_url: str) -> Iterator[RedisProxy]:
    """A started proxy in front of the test Redis; its URL is `proxy.url(db)`."""
    parts = parse_url(redis_url)
    server = RedisProxy((str(parts.get("host", "127.0.0.1")), int(parts.get("port", 6379))))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def proxied_redis_url(proxy: RedisProxy, redis_url: str) -> str:
    """The test Redis's database, through the proxy."""
    return proxy.url(int(parse_url(redis_url).get("db", 0)))


@pytest.fixture
def unreachable_redis_url() -> str:
    """A Redis URL where nothing listens: connections are refused at once."""
    return f"redis://127.0.0.1:{free_port()}/0"
