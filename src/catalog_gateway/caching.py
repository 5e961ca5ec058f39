"""A small, bounded, thread-safe cache whose entries expire: what each process remembers for a
few seconds (who a key stands for, a source's profile, its organization codes) so that hot
paths do not ask the database on every request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import TTLCache

KeyT = TypeVar("KeyT")
ValueT = TypeVar("ValueT")


class ExpiringCache(Generic[KeyT, ValueT]):
    """Entries live `ttl_seconds` (0: nothing is kept); at most `max_entries` of them.

    A stored value may be None ("known not to exist"), so a lookup says whether it found an
    entry at all.
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        # 1-tuples, so that a stored None is told apart from a missing entry.
        self._entries: TTLCache[KeyT, tuple[ValueT]] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl_seconds) if ttl_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def lookup(self, key: KeyT) -> tuple[bool, ValueT | None]:
        """(found, value): `found` False means "ask the source of truth"."""
        if self._entries is None:
            return False, None
        with self._lock:
            entry = self._entries.get(key)
        return (False, None) if entry is None else (True, entry[0])

    def store(self, key: KeyT, value: ValueT) -> None:
        """Remember `value` for `key` for the cache's time to live."""
        if self._entries is None:
            return
        with self._lock:
            self._entries[key] = (value,)

    def discard_where(self, condition: Callable[[ValueT], bool]) -> int:
        """Forget every entry whose value meets `condition`; how many there were. A scan: for
        rare events (a revoked key), not for a hot path."""
        if self._entries is None:
            return 0
        with self._lock:
            doomed = [key for key, (value,) in self._entries.items() if condition(value)]
            for key in doomed:
                self._entries.pop(key, None)
        return len(doomed)

    def clear(self) -> None:
        """Forget every entry (as if each had expired)."""
        if self._entries is None:
            return
        with self._lock:
            self._entries.clear()
