"""A short-lived, bounded, per-process cache of who a credential stands for.

Every event request is authenticated before it is throttled; without this cache, a flood of
requests that will only be answered 429 would still cost one database lookup each. Unknown
credentials are cached too, so guessing keys cannot flood the database either. The price is
that a revoked key (or a changed rate limit) takes effect on each process within
`auth_cache_seconds` — unless the process is told: a revocation announced through Redis (see
`auth.revocation`) evicts the key from every process's cache at once.

Evicting is not enough on its own. A lookup that read the key as live just before it was
revoked could store that answer just after the eviction, and the revoked key would then be
accepted for another `auth_cache_seconds`. So every eviction moves a generation counter on,
and a lookup stores its answer only if no eviction happened since it began: it reads
`generation` before asking the database and hands it to `put`.
"""

from __future__ import annotations

import hashlib
import threading

from catalog_gateway.auth.principal import Principal
from catalog_gateway.caching import ExpiringCache


class PrincipalCache:
    """Credential → Principal (or "unknown"), for `ttl_seconds`; 0 disables caching."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._entries: ExpiringCache[bytes, Principal | None] = ExpiringCache(
            ttl_seconds, max_entries
        )
        self._lock = threading.Lock()  # makes "same generation? then store" one step
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before asking the database; give it to `put` with the answer."""
        return self._generation

    def get(self, credential: str) -> tuple[bool, Principal | None]:
        """(found, principal): `found` False means "ask the database"."""
        return self._entries.lookup(_digest(credential))

    def put(self, credential: str, principal: Principal | None, generation: int) -> None:
        """Remember what the database said about `credential`, unless something was evicted
        since `generation` was read (the answer may predate a revocation)."""
        with self._lock:
            if generation == self._generation:
                self._entries.store(_digest(credential), principal)

    def revoke(self, key_id: str) -> int:
        """Forget the key `key_id` (it was revoked); how many cached credentials were it."""
        with self._lock:
            self._generation += 1
            return self._entries.discard_where(
                lambda principal: principal is not None and principal.key_id == key_id
            )

    def clear(self) -> None:
        """Forget everything (revocations may have been missed)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()


def _digest(credential: str) -> bytes:
    # Keys are never kept in memory in clear, not even in the cache.
    return hashlib.sha256(credential.encode()).digest()
