"""`decode:` and `type:` of a field rule: source values → the text and numbers the canonical
payload wants. Each function takes one non-empty value and returns it converted, or raises
`UnusableValueError` saying what is wrong with it.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.mapping.values import UnusableValueError, kind, shown

Coercion = Callable[[Any], Any]

US_DATE = "%m/%d/%Y"
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%T", "%R", "%p")
_TRUE = frozenset(("true", "yes", "1"))
_FALSE = frozenset(("false", "no", "0"))


def decode_base64(value: Any) -> str:
    """Base64 (standard or URL-safe, padding optional) → UTF-8 text."""
    if not isinstance(value, str):
        raise _wrong_type(value, "base64 text")
    text = "".join(value.split())
    altchars = b"-_" if "-" in text or "_" in text else None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _malformed("is not valid base64") from None


def to_string(value: Any) -> str:
    """Text, trimmed; numbers become their decimal text."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise _wrong_type(value, "text")


def to_int(value: Any) -> int:
    """A whole number: an int, a float without fraction, or the text of an int."""
    if isinstance(value, bool):
        raise _wrong_type(value, "a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, float | str):
        raise _malformed(f"is not a whole number: {shown(value)}")
    raise _wrong_type(value, "a whole number")


def to_decimal(value: Any) -> str:
    """A decimal number as text, keeping the source's decimals ("2800.00" stays "2800.00")."""
    if isinstance(value, bool):
        raise _wrong_type(value, "a decimal number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _malformed(f"is not a decimal number: {value}")
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        if _DECIMAL.fullmatch(value.strip()):
            return str(Decimal(value.strip()))
        raise _malformed(f"is not a decimal number: {shown(value)}")
    raise _wrong_type(value, "a decimal number")


def to_bool(value: Any) -> bool:
    """true/false, yes/no, 1/0 (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    raise _malformed(f"is not true/false or yes/no: {shown(value)}")


def to_list(value: Any) -> list[Any]:
    """A list as is; any other value as a list of one."""
    return value if isinstance(value, list) else [value]


def to_url(value: Any) -> str:
    """An absolute http(s) URL; `https://` is added to text without a scheme."""
    if not isinstance(value, str):
        raise _wrong_type(value, "a URL")
    text = value.strip()
    if not _SCHEME.match(text):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(char.isspace() for char in text):
        raise _malformed(f"is not an http(s) URL: {shown(value)}")
    return text


def date_coercion(formats: Sequence[str] | None) -> Coercion:
    """Text in one of `formats` (default: ISO 8601, then month/day/year) → "YYYY-MM-DD"."""

    def to_date(value: Any) -> str:
        moment, _ = _parse_moment(value, formats)
        return moment.date().isoformat()

    return to_date


def datetime_coercion(
    formats: Sequence[str] | None, timezone: str | None, end_of_day: bool
) -> Coercion:
    """Text in one of `formats` → RFC 3339 UTC text; naive times are in `timezone` (UTC)."""
    zone = ZoneInfo(timezone) if timezone else UTC

    def to_datetime(value: Any) -> str:
        moment, date_only = _parse_moment(value, formats)
        if date_only and end_of_day:
            moment = datetime.combine(moment.date(), time(23, 59, 59))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        moment = moment.astimezone(UTC)
        precision = "microseconds" if moment.microsecond else "seconds"
        return moment.replace(tzinfo=None).isoformat(timespec=precision) + "Z"

    return to_datetime


def _parse_moment(value: Any, formats: Sequence[str] | None) -> tuple[datetime, bool]:
    """The moment a text names, and whether it named a day only (no time)."""
    if not isinstance(value, str):
        raise _wrong_type(value, "a date as text")
    text = value.strip()
    if formats is None:
        parsed = _parse_iso(text)
        if parsed is not None:
            return parsed
    for layout in formats or (US_DATE,):
        try:
            moment = datetime.strptime(text, layout)  # noqa: DTZ007 - zones are applied after
        except ValueError:
            continue
        return moment, not any(directive in layout for directive in _TIME_DIRECTIVES)
    expected = ", ".join(formats) if formats else f"ISO 8601 or {US_DATE}"
    raise _malformed(f"is not a date in the expected format ({expected}): {shown(value)}")


def _parse_iso(text: str) -> tuple[datetime, bool] | None:
    try:
        return datetime.combine(date.fromisoformat(text), time()), True
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text), False
    except ValueError:
        return None


def _wrong_type(value: Any, expected: str) -> UnusableValueError:
    return UnusableValueError(ErrorCode.INVALID_TYPE, f"is {kind(value)}, expected {expected}")


def _malformed(text: str) -> UnusableValueError:
    return UnusableValueError(ErrorCode.INVALID_FORMAT, text)
