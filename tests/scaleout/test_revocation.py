"""Key revocation through Redis pub/sub: the principal cache's generation (a lookup that began
before a revocation never stores its stale answer), the listening thread (eviction in every
process, reconnection, an unreachable Redis) and who announces (`keys revoke`, the console's
`Revocations`). Against the real test Redis, each test on a channel of its own."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.auth.keys import authenticate
from catalog_gateway.auth.principal import Principal
from catalog_gateway.auth.revocation import (
    CHANNEL,
    RevocationListener,
    Revocations,
    announce_revocation,
)
from catalog_gateway.cli import app as cli_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import get_settings
from tests.scaleout.redis_proxy import RedisProxy
from tests.servers import redis_client

TTL = 300.0  # far longer than any test: only an eviction can explain a key leaving the cache
KEY_A, KEY_B = "cgw_key-a", "cgw_key-b"
UNKNOWN = "cgw_nobody"


def principal(key_id: str) -> Principal:
    return Principal(key_id=key_id, source_id=1, source_slug="exec-ed", is_admin=False)


def fill(cache: PrincipalCache) -> None:
    """Cache two live keys (`key_a`, `key_b`) and an unknown credential."""
    for credential, answer in (
        (KEY_A, principal("key_a")),
        (KEY_B, principal("key_b")),
        (UNKNOWN, None),
    ):
        cache.put(credential, answer, cache.generation)


def filled_cache() -> PrincipalCache:
    cache = PrincipalCache(TTL)
    fill(cache)
    return cache


def cached(cache: PrincipalCache) -> set[str]:
    """Which of the three credentials the cache still holds."""
    return {c for c in (KEY_A, KEY_B, UNKNOWN) if cache.get(c)[0]}


def eventually(condition: Callable[[], bool], timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def channel(tag: str) -> str:
    """A channel of this test's own: no other test's announcement reaches its listeners."""
    return f"test:revoked:{tag}"


@contextmanager
def listening(
    url: str, cache: PrincipalCache, channel: str, *, wait: bool = True
) -> Iterator[RevocationListener]:
    listener = RevocationListener(url, cache, channel=channel, reconnect_seconds=0.1)
    listener.start()
    try:
        if wait:
            assert listener.listening.wait(5), "the listener did not subscribe"
        yield listener
    finally:
        listener.stop()


# The generation: evictions invalidate lookups that began before them ------------------------


def test_a_lookup_begun_before_an_eviction_does_not_store_its_answer() -> None:
    cache = PrincipalCache(TTL)
    generation = cache.generation  # the lookup begins: the database says key_a is live
    cache.revoke("key_a")  # the revocation arrives while the answer travels back

    cache.put(KEY_A, principal("key_a"), generation)

    assert cache.get(KEY_A) == (False, None), "a revoked key was cached after its eviction"
    cache.put(KEY_A, None, cache.generation)  # a lookup begun after it: stored
    assert cache.get(KEY_A) == (True, None)


def test_clearing_also_invalidates_lookups_in_flight() -> None:
    cache = PrincipalCache(TTL)
    generation = cache.generation
    cache.clear()

    cache.put(KEY_A, principal("key_a"), generation)

    assert cache.get(KEY_A) == (False, None)


def test_revoke_evicts_only_that_key() -> None:
    cache = filled_cache()

    assert cache.revoke("key_a") == 1

    assert cached(cache) == {KEY_B, UNKNOWN}
    assert cache.revoke("key_zzz") == 0


# The listener, with the real Redis -------------------------------------------------------


def test_an_announced_revocation_evicts_the_key_in_every_listening_process(
    redis_url: str, channel: str
) -> None:
    caches = [PrincipalCache(TTL), PrincipalCache(TTL)]
    with listening(redis_url, caches[0], channel), listening(redis_url, caches[1], channel):
        for cache in caches:
            fill(cache)

        announce_revocation(redis_url, "key_a", channel=channel)

        assert eventually(lambda: all(not c.get(KEY_A)[0] for c in caches), timeout=1.0)
        for cache in caches:
            assert cached(cache) == {KEY_B, UNKNOWN}


def test_a_lookup_racing_an_announced_revocation_never_caches_the_revoked_key(
    redis_url: str, channel: str
) -> None:
    """The race, deterministic: the database said "live", then the revocation is announced and
    processed, then the lookup's answer arrives to be stored. It is not."""
    cache = PrincipalCache(TTL)
    with listening(redis_url, cache, channel):
        generation = cache.generation  # the lookup reads the key as live here

        announce_revocation(redis_url, "key_a", channel=channel)
        assert eventually(lambda: cache.generation != generation)
        cache.put(KEY_A, principal("key_a"), generation)  # ... and its answer arrives now

        assert cache.get(KEY_A) == (False, None)


def test_lookups_in_flight_around_a_revocation_never_cache_it_afterwards(
    redis_url: str, channel: str
) -> None:
    """The race with real threads doing what a request does (get; on a miss, read the
    generation, ask the database, store the answer when it comes back), the key revoked and
    announced while one of them holds a "live" answer not yet stored. Once the listener has
    processed the announcement, the cache never answers the key as live. (A short time to
    live keeps lookups happening.)"""
    cache = PrincipalCache(0.05)
    revoked = threading.Event()  # the database's truth
    live_answer_in_flight = threading.Event()
    stop = threading.Event()

    def request_loop() -> None:
        while not stop.is_set():
            if cache.get(KEY_A)[0]:
                time.sleep(0.001)
                continue
            generation = cache.generation
            answer = None if revoked.is_set() else principal("key_a")
            if answer is not None:
                live_answer_in_flight.set()
            time.sleep(random.uniform(0.01, 0.03))  # the answer travels back from the pool
            cache.put(KEY_A, answer, generation)

    with listening(redis_url, cache, channel):
        threads = [threading.Thread(target=request_loop) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.1)
            live_answer_in_flight.clear()
            assert live_answer_in_flight.wait(2)
            before = cache.generation
            revoked.set()  # committed ...
            announce_revocation(redis_url, "key_a", channel=channel)  # ... then announced
            assert eventually(lambda: cache.generation != before)
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                found, answer = cache.get(KEY_A)
                assert not (found and answer is not None), "the revoked key came back"
                time.sleep(0.001)
        finally:
            stop.set()
            for thread in threads:
                thread.join(5)


def test_a_listener_that_lost_redis_forgets_everything_when_it_is_back(
    proxy: RedisProxy, proxied_redis_url: str, redis_url: str, channel: str
) -> None:
    """A revocation announced while a process was cut off from Redis never reaches it: on
    reconnecting, it clears its whole cache (every key is looked up again, once)."""
    cache = PrincipalCache(TTL)
    with listening(proxied_redis_url, cache, channel) as listener:
        fill(cache)
        proxy.stop()
        assert eventually(lambda: not listener.listening.is_set(), timeout=2)
        announce_revocation(redis_url, "key_a", channel=channel)  # missed by this process
        assert cached(cache) == {KEY_A, KEY_B, UNKNOWN}  # the TTL is the bound meanwhile

        proxy.start()

        assert listener.listening.wait(5), "the listener did not subscribe again"
        assert cached(cache) == set()
        fill(cache)
        announce_revocation(redis_url, "key_b", channel=channel)  # and it listens again
        assert eventually(lambda: cached(cache) == {KEY_A, UNKNOWN})


def test_a_listener_without_redis_starts_and_stops_at_once_and_says_so_once(
    unreachable_redis_url: str, channel: str
) -> None:
    cache = PrincipalCache(TTL)
    with capture_logs() as logs:
        started = time.monotonic()
        with listening(unreachable_redis_url, cache, channel, wait=False) as listener:
            assert time.monotonic() - started < 0.5
            time.sleep(0.5)  # several reconnection attempts
            fill(cache)  # the cache works as without Redis
            assert cached(cache) == {KEY_A, KEY_B, UNKNOWN}
            assert not listener.listening.is_set()
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 1.0
    warnings = [line for line in logs if line["event"] == "shared_state_unavailable"]
    assert len(warnings) == 1, logs
    assert warnings[0]["part"] == "key revocations"


# Who announces ---------------------------------------------------------------------------


def test_revocations_evict_locally_and_announce_to_the_others(redis_url: str, channel: str) -> None:
    """What the console does after revoking: its own process at once, the others via Redis."""
    here, elsewhere = filled_cache(), PrincipalCache(TTL)
    revocations = Revocations(redis_url, here)
    assert revocations.listener is not None
    with listening(redis_url, elsewhere, CHANNEL):
        fill(elsewhere)

        assert revocations.announce("key_a") is True

        assert cached(here) == {KEY_B, UNKNOWN}  # at once, before any message
        assert eventually(lambda: cached(elsewhere) == {KEY_B, UNKNOWN})


def test_revocations_without_redis_evict_locally_only() -> None:
    cache = filled_cache()
    revocations = Revocations(None, cache)

    assert revocations.listener is None
    assert revocations.announce("key_a") is False
    assert cached(cache) == {KEY_B, UNKNOWN}


def test_revocations_with_redis_down_evict_locally_and_warn(unreachable_redis_url: str) -> None:
    cache = filled_cache()
    with capture_logs() as logs:
        assert Revocations(unreachable_redis_url, cache).announce("key_a") is False
    assert cached(cache) == {KEY_B, UNKNOWN}
    assert [line["event"] for line in logs] == ["revocation_not_announced"]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI on a migrated SQLite file of its own, settings read afresh."""
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv("CATALOG_GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    monkeypatch.delenv("CATALOG_GATEWAY_REDIS_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def _admin_key(runner: CliRunner) -> dict[str, str]:
    result = runner.invoke(cli_app, ["keys", "create", "--admin", "--json"])
    assert result.exit_code == 0, result.output
    created: dict[str, str] = json.loads(result.stdout)
    return created


def test_keys_revoke_announces_the_key_through_redis(
    cli_env: CliRunner, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _admin_key(cli_env)
    monkeypatch.setenv("CATALOG_GATEWAY_REDIS_URL", redis_url)
    get_settings.cache_clear()
    subscriber = redis_client().pubsub()
    subscriber.subscribe(CHANNEL)
    try:
        assert subscriber.get_message(timeout=2)["type"] == "subscribe"

        result = cli_env.invoke(cli_app, ["keys", "revoke", created["api_key"]])

        assert result.exit_code == 0, result.output
        assert result.stdout == f"key {created['id']} revoked\n"
        assert result.stderr == ""
        heard = []
        deadline = time.monotonic() + 2
        while created["id"].encode() not in heard and time.monotonic() < deadline:
            message = subscriber.get_message(timeout=0.1)
            if message and message["type"] == "message":
                heard.append(message["data"])  # other tests' announcements may pass by too
        assert created["id"].encode() in heard
    finally:
        subscriber.close()


def test_keys_revoke_with_redis_down_revokes_and_warns(
    cli_env: CliRunner, unreachable_redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _admin_key(cli_env)
    monkeypatch.setenv("CATALOG_GATEWAY_REDIS_URL", unreachable_redis_url)
    monkeypatch.setenv("CATALOG_GATEWAY_AUTH_CACHE_SECONDS", "7")
    get_settings.cache_clear()

    result = cli_env.invoke(cli_app, ["keys", "revoke", created["id"]])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"key {created['id']} revoked\n"
    assert "could not be told through Redis" in result.stderr
    assert "within 7 s" in result.stderr
    database = Database(get_settings().database_url)
    try:
        with database.read() as session:
            assert authenticate(session, created["api_key"]) is None
    finally:
        database.dispose()
