"""Revoked keys stop working on every server process at once: announced through Redis pub/sub.

Each process caches who a key stands for (`auth.cache`), so on its own a revocation takes
effect within `auth_cache_seconds`. With `CATALOG_GATEWAY_REDIS_URL` set, whoever revokes a key
(`catalog-gateway keys revoke`, the console) publishes its id on `CHANNEL` once the revocation
is committed, and every server process, subscribed from a thread of its own, evicts it.

Pub/sub delivers only to those listening when the message is sent. A process whose connection
dropped may have missed a revocation, so whenever its subscription is (re)confirmed it clears
its whole cache: every key is then looked up again, once. While Redis is unreachable, the
cache's time to live is the bound, as without Redis; announcing fails with a warning and the
revocation itself (in the database) stands.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import structlog

from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.shared_state import REDIS_FAILURES, Outage, redis_client

_log = structlog.get_logger(__name__)

CHANNEL = "catalog_gateway:keys:revoked"
"""Pub/sub channels are server-wide (not per database number): a message names a key id, so a
gateway sharing the Redis server with another only ever evicts keys it does not have."""

POLL_SECONDS = 0.2
"""How often the listening thread looks up from Redis to see whether it should stop."""

HEALTH_CHECK_SECONDS = 5
"""A silent subscription is pinged this often, so a connection that died without a word (a
host gone, a firewall's idle timeout) is noticed and replaced within seconds."""


def announce_revocation(redis_url: str, key_id: str, *, channel: str = CHANNEL) -> None:
    """Tell every server process that `key_id` is revoked (call it after the commit). Raises
    one of `REDIS_FAILURES` when Redis cannot be told: the processes then take up to
    `auth_cache_seconds` to notice."""
    client = redis_client(redis_url)
    try:
        client.publish(channel, key_id)
    finally:
        client.close()


class RevocationListener:
    """A thread that evicts each key announced on `channel` from `principals`."""

    def __init__(
        self,
        redis_url: str,
        principals: PrincipalCache,
        *,
        reconnect_seconds: float = 1.0,
        client_name: str | None = None,
        channel: str = CHANNEL,
    ) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.principals = principals
        self.reconnect_seconds = reconnect_seconds
        self.client_name = client_name or f"catalog-gateway-revocations-{os.getpid()}"
        self.outage = Outage("key revocations", retry_seconds=reconnect_seconds)
        self.listening = threading.Event()
        """Set while subscribed (each (re)subscription has cleared the cache)."""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen from now on (returns at once, even if Redis is down)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name="catalog-gateway-revocations", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and wait (at most `timeout` seconds) for the thread to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except REDIS_FAILURES as error:
                self.outage.failed(error)
            self.listening.clear()
            self._stopping.wait(self.reconnect_seconds)

    def _listen(self) -> None:
        client = redis_client(
            self.redis_url,
            client_name=self.client_name,
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.channel)
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=POLL_SECONDS)
                if message is not None:
                    self._handle(message)
        finally:
            pubsub.close()
            client.close()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            # First subscription, or redis-py re-subscribed after a reconnection: whatever was
            # announced while this process was not listening is unknown, so forget it all.
            self.principals.clear()
            self.outage.succeeded()
            self.listening.set()
        elif kind == "message":
            data = message.get("data")
            key_id = data.decode() if isinstance(data, bytes) else str(data)
            evicted = self.principals.revoke(key_id)
            _log.info("key_revocation_received", key_id=key_id, evicted=evicted)


class Revocations:
    """A server process's part in revocations: listen (when Redis is configured), and
    announce the keys revoked through it (the console), evicting them here first."""

    def __init__(self, redis_url: str | None, principals: PrincipalCache) -> None:
        self.redis_url = redis_url
        self.principals = principals
        self.listener = RevocationListener(redis_url, principals) if redis_url else None

    def start(self) -> None:
        """Start listening (the app's lifespan)."""
        if self.listener is not None:
            self.listener.start()

    def stop(self) -> None:
        """Stop listening."""
        if self.listener is not None:
            self.listener.stop()

    def announce(self, key_id: str) -> bool:
        """`key_id` was revoked (committed): evict it here at once, and tell the others. False
        when they could not be told (warned): they notice within `auth_cache_seconds`."""
        self.principals.revoke(key_id)
        if not self.redis_url:
            return False
        try:
            announce_revocation(self.redis_url, key_id)
        except REDIS_FAILURES as error:
            _log.warning(
                "revocation_not_announced", key_id=key_id, error=str(error) or type(error).__name__
            )
            return False
        return True
