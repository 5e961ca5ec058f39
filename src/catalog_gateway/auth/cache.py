"""A short-lived, bounded, per-process cache of who a credential stands for.

Every event request is authenticated before it is throttled; without this cache, a flood of
requests that will only be answered 429 would still cost one database lookup each. Unknown
credentials are cached too, so guessing keys cannot flood the database either. The price is
that a revoked key (or a changed rate limit) takes effect on each process within
`auth_cache_seconds`.
"""

from __future__ import annotations

import hashlib
import threading

from cachetools import TTLCache

from catalog_gateway.auth.principal import Principal


class PrincipalCache:
    """Credential → Principal (or "unknown"), for `ttl_seconds`; 0 disables caching."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: TTLCache[bytes, tuple[Principal | None]] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl_seconds) if ttl_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def get(self, credential: str) -> tuple[bool, Principal | None]:
        """(found, principal): `found` False means "ask the database"."""
        if self._entries is None:
            return False, None
        with self._lock:
            entry = self._entries.get(_digest(credential))
        if entry is None:
            return False, None
        return True, entry[0]

    def put(self, credential: str, principal: Principal | None) -> None:
        """Remember what the database said about `credential`."""
        if self._entries is None:
            return
        with self._lock:
            # A 1-tuple, so that "unknown" (None) is cached as well as a principal.
            self._entries[_digest(credential)] = (principal,)


def _digest(credential: str) -> bytes:
    # Keys are never kept in memory in clear, not even in the cache.
    return hashlib.sha256(credential.encode()).digest()
