"""Field types of the canonical payloads, each checked where it is declared.

Each check raises a `PydanticCustomError` whose type is one of our error codes, so a schema
error reaches the integrator with the same code everywhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlsplit

import langcodes
import pycountry
from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from catalog_gateway.errors import ErrorCode

_CENT = Decimal("0.01")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[Tt ])")
_MAX_PRICE = Decimal("99999999.99")


LANGUAGE_TAG_MAX_LENGTH = 35  # the longest tag a catalog column holds


def _assume_utc(moment: datetime) -> datetime:
    """Times without a zone are UTC (DESIGN §4); all times are kept in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _date_time_text(value: object) -> object:
    """A date-time is a string (or a datetime built in process), never a number: strict JSON
    types, so an epoch number or a boolean is a mistake to report, not a time to guess."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise PydanticCustomError(
        ErrorCode.INVALID_DATE.value,
        "must be an RFC 3339 date-time string such as 2027-02-01T00:00:00Z",
    )


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError(
            ErrorCode.INVALID_URL.value,
            "must be an absolute http(s) URL, got {value}",
            {"value": value[:200]},
        )
    return value


def _language_tag(value: str) -> str:
    if not langcodes.tag_is_valid(value):
        raise PydanticCustomError(
            ErrorCode.INVALID_LANGUAGE.value,
            "must be an IETF language tag such as en-US or es-419, got {value}",
            {"value": value[:64]},
        )
    return value


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isupper() or pycountry.currencies.get(alpha_3=value) is None:
        raise PydanticCustomError(
            ErrorCode.INVALID_CURRENCY.value,
            "must be an upper-case ISO 4217 currency code such as USD, got {value}",
            {"value": value[:16]},
        )
    return value


def _price(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > _MAX_PRICE:
        raise PydanticCustomError(
            ErrorCode.INVALID_PRICE.value,
            "must be a price from 0 to 99999999.99, got {value}",
            {"value": str(value)[:32]},
        )
    if value != value.quantize(_CENT):
        raise PydanticCustomError(
            ErrorCode.INVALID_PRICE.value,
            "must have at most 2 decimals, got {value}",
            {"value": str(value)[:32]},
        )
    return value.quantize(_CENT)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError(ErrorCode.REQUIRED.value, "must not be empty")
    return value


UtcDateTime = Annotated[
    datetime,
    BeforeValidator(_date_time_text),
    AfterValidator(_assume_utc),
    Field(
        description="RFC 3339 date-time; without a zone it is UTC.",
        examples=["2027-02-01T00:00:00Z"],
    ),
]
HttpUrl = Annotated[
    str,
    Field(
        max_length=2048, description="An absolute http(s) URL.", examples=["https://example.org/x"]
    ),
    AfterValidator(_http_url),
]
LanguageTag = Annotated[
    str,
    Field(
        max_length=LANGUAGE_TAG_MAX_LENGTH,
        description="An IETF BCP 47 language tag.",
        examples=["en-US"],
    ),
    AfterValidator(_language_tag),
]
CurrencyCode = Annotated[
    str,
    Field(description="An upper-case ISO 4217 currency code.", examples=["USD"]),
    AfterValidator(_currency),
]
Price = Annotated[
    Decimal,
    BeforeValidator(lambda value: str(value) if isinstance(value, float) else value),
    Field(
        description="A decimal string or number, at most 2 decimals, >= 0.", examples=["2800.00"]
    ),
    AfterValidator(_price),
]
RequiredText = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_not_blank)]
ExternalId = Annotated[
    str,
    Field(min_length=1, max_length=255, description="The source's own identifier."),
    AfterValidator(_not_blank),
]
WholeNumber = Annotated[int, Strict()]
"""A JSON integer: `true`, `4.0` and `"4"` are refused (strict JSON types)."""
