"""A short-lived, bounded, per-process cache of who a credential stands for.

Every event request is authenticated before it is throttled; without this cache, a flood of
requests that will only be answered 429 would still cost one database lookup each. Unknown
credentials are cached too, so guessing keys cannot flood the database either. The price is
that a revoked key (or a changed rate limit) takes effect on each process within
`auth_cache_seconds`.
"""

from __future__ import annotations

import hashlib

from catalog_gateway.auth.principal import Principal
from catalog_gateway.caching import ExpiringCache


class PrincipalCache:
    """Credential → Principal (or "unknown"), for `ttl_seconds`; 0 disables caching."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._entries: ExpiringCache[bytes, Principal | None] = ExpiringCache(
            ttl_seconds, max_entries
        )

    def get(self, credential: str) -> tuple[bool, Principal | None]:
        """(found, principal): `found` False means "ask the database"."""
        return self._entries.lookup(_digest(credential))

    def put(self, credential: str, principal: Principal | None) -> None:
        """Remember what the database said about `credential`."""
        self._entries.store(_digest(credential), principal)


def _digest(credential: str) -> bytes:
    # Keys are never kept in memory in clear, not even in the cache.
    return hashlib.sha256(credential.encode()).digest()
