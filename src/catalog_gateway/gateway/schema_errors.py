"""Pydantic validation errors → our issues: one per field, with a code and a readable message."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from catalog_gateway.errors import ErrorCode
from catalog_gateway.pointers import pointer

_CODES_BY_TYPE: dict[str, ErrorCode] = {
    "missing": ErrorCode.REQUIRED,
    "extra_forbidden": ErrorCode.UNKNOWN_FIELD,
    "string_too_long": ErrorCode.TOO_LONG,
    "too_long": ErrorCode.TOO_LONG,
    "too_short": ErrorCode.TOO_SHORT,
    "string_pattern_mismatch": ErrorCode.INVALID_FORMAT,
    "enum": ErrorCode.INVALID_CHOICE,
    "literal_error": ErrorCode.INVALID_CHOICE,
    "greater_than": ErrorCode.OUT_OF_RANGE,
    "greater_than_equal": ErrorCode.OUT_OF_RANGE,
    "less_than": ErrorCode.OUT_OF_RANGE,
    "less_than_equal": ErrorCode.OUT_OF_RANGE,
    "value_error": ErrorCode.INVALID_VALUE,
    "assertion_error": ErrorCode.INVALID_VALUE,
}
_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "is required",
    ErrorCode.UNKNOWN_FIELD: "is not a field of this payload",
}


def field_errors(error: ValidationError) -> list[tuple[ErrorCode, str, str]]:
    """(code, message, JSON Pointer) for each problem pydantic found."""
    return [_describe(detail) for detail in error.errors(include_url=False)]


def _describe(detail: ErrorDetails) -> tuple[ErrorCode, str, str]:
    path = pointer(part for part in detail["loc"] if not _is_schema_tag(part))
    code = _code(detail)
    field = path.rsplit("/", 1)[-1] or "payload"
    if code in _MESSAGES:
        return code, f"{field} {_MESSAGES[code]}", path
    return code, f"{field}: {_lower_first(detail['msg'])}", path


def _code(detail: ErrorDetails) -> ErrorCode:
    kind = detail["type"]
    if kind in ErrorCode._value2member_map_:
        return ErrorCode(kind)
    if kind == "string_too_short":
        return ErrorCode.REQUIRED if detail.get("input") == "" else ErrorCode.TOO_SHORT
    if kind.startswith(("datetime", "date", "time")):
        return ErrorCode.INVALID_DATE
    if kind.startswith("decimal"):
        return ErrorCode.INVALID_PRICE
    return _CODES_BY_TYPE.get(kind, ErrorCode.INVALID_TYPE)


def _is_schema_tag(part: str | int) -> bool:
    """Pydantic adds validator names (`function-after[…]`) to locations inside unions."""
    return isinstance(part, str) and ("[" in part or part.startswith(("function-", "lax-")))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
