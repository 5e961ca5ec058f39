"""Cursor (keyset) pagination: stable under inserts, O(page) at any depth."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from catalog_gateway.errors import ErrorCode, InvalidValueError

RowT = TypeVar("RowT")

# Row ids are 32-bit INTEGERs on PostgreSQL: a cursor past that is not one we handed out.
MAX_ROW_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    """One page of results and the cursor of the next one (None on the last page)."""

    results: Sequence[RowT]
    next: str | None


def encode_cursor(last_id: int) -> str:
    """An opaque cursor pointing after row `last_id`."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor points after; a tampered or foreign cursor is an invalid request."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise _invalid_cursor() from error
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ROW_ID:
        raise _invalid_cursor()
    return after


def paginate(
    session: Session,
    query: Select[RowT],
    id_column: InstrumentedAttribute[int],
    *,
    cursor: str | None,
    limit: int,
) -> Page[RowT]:
    """Run `query` for one page ordered by `id_column`, starting after `cursor`."""
    if limit < 1:
        raise ValueError("a page holds at least one row")
    if cursor is not None:
        query = query.where(id_column > decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(id_column).limit(limit + 1)).unique())
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(getattr(rows[-1], id_column.key)))


def _invalid_cursor() -> InvalidValueError:
    return InvalidValueError(
        "the cursor is not one this service handed out; start again without it",
        code=ErrorCode.INVALID_CURSOR,
        field="cursor",
    )
