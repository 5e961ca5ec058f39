"""A request body read as JSON, every refusal saying why and where.

In order: the media type (415), the size (413, before the body is read in full), UTF-8 and the
JSON syntax (400 `malformed_json` with line, column and byte offset), numbers of reasonable
length, then depth and string length (400 `input_too_complex` naming the JSON Pointer of the
first offending value). Strings holding a lone surrogate are valid JSON text but not Unicode:
they are collected with their places, so a single event can be refused whole and a batch can
refuse only the events that carry them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from catalog_gateway.api.problems import ProblemError, ProblemField, TextLocation
from catalog_gateway.errors import ErrorCode
from catalog_gateway.pointers import pointer
from catalog_gateway.settings import Settings
from catalog_gateway.text import printable

JSON_MEDIA_TYPE = "application/json"
MAX_NUMBER_LENGTH = 100
"""Characters of a JSON number: prices and efforts need a handful; 100 is generous."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class TextProblem:
    """A string (or member name) that cannot be accepted, and where it is."""

    parts: tuple[str | int, ...]
    message: str

    @property
    def path(self) -> str:
        """Its JSON Pointer, printable even when a member name is the problem."""
        return printable(pointer(self.parts))


@dataclass(frozen=True, slots=True)
class JsonBody:
    """A parsed body and the strings in it that are not Unicode (lone surrogates)."""

    document: Any
    bad_text: list[TextProblem] = field(default_factory=list)

    def refuse_bad_text(self) -> None:
        """400 `malformed_json` naming every string that is not Unicode."""
        if self.bad_text:
            raise not_unicode(self.bad_text)


def not_unicode(problems: Sequence[TextProblem]) -> ProblemError:
    """The 400 for strings holding lone surrogates."""
    return ProblemError(
        400,
        ErrorCode.MALFORMED_JSON,
        f"the request body is not valid Unicode: {problems[0].message} at {problems[0].path}",
        errors=[ProblemField(path=problem.path, message=problem.message) for problem in problems],
    )


async def read_json(request: Request, limit: int, settings: Settings) -> JsonBody:
    """The body as JSON (see the module's docstring for every refusal)."""
    _require_json_media_type(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return parse_json(b"".join(chunks), settings.max_json_depth, settings.max_string_length)


def parse_json(body: bytes, max_depth: int, max_string: int) -> JsonBody:
    """Parse and inspect `body` (see the module's docstring)."""
    text = _decode(body)
    try:
        document = json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_not_a_number
        )
    except RecursionError:
        raise _too_complex(
            f"JSON nested deeper than {max_depth} levels", _deep_container(text, max_depth)
        ) from None
    except json.JSONDecodeError as error:
        raise _malformed(error.msg, text, error.pos) from None
    except _LiteralError as error:
        raise _malformed(error.reason, text, text.find(error.literal)) from None
    if _plainly_acceptable(document, text, max_depth, max_string):
        return JsonBody(document)
    return JsonBody(document, _inspect(document, max_depth, max_string))


def _require_json_media_type(content_type: str | None) -> None:
    media_type, _, parameters = (content_type or "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", parameters, re.IGNORECASE)
    if media_type.strip().lower() == JSON_MEDIA_TYPE and (
        charset is None or charset.group(1).lower() in ("utf-8", "utf8")
    ):
        return
    sent = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
    raise ProblemError(
        415,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        f"the request body must be sent as {JSON_MEDIA_TYPE} (UTF-8); this request has {sent}",
    )


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start
        line = body.count(b"\n", 0, offset) + 1
        column = len(body[body.rfind(b"\n", 0, offset) + 1 : offset].decode("utf-8", "replace"))
        raise ProblemError(
            400,
            ErrorCode.MALFORMED_JSON,
            f"the request body is not UTF-8: byte 0x{body[offset]:02x} at line {line}, "
            f"column {column + 1} (byte offset {offset}) does not belong to a UTF-8 character",
            location=TextLocation(line=line, column=column + 1, offset=offset),
        ) from None


class _LiteralError(ValueError):
    """A literal that parses as JSON in Python but is refused here."""

    def __init__(self, literal: str, reason: str) -> None:
        super().__init__(reason)
        self.literal = literal
        self.reason = reason


def _int(literal: str) -> int:
    _number_length(literal)
    return int(literal)


def _float(literal: str) -> float:
    _number_length(literal)
    return float(literal)


def _number_length(literal: str) -> None:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise _LiteralError(
            literal,
            f"number too long ({len(literal)} characters; at most {MAX_NUMBER_LENGTH})",
        )


def _not_a_number(literal: str) -> Any:
    raise _LiteralError(literal, f"{literal} is not a JSON value")


def _malformed(reason: str, text: str, position: int) -> ProblemError:
    position = max(position, 0)
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    offset = len(text[:position].encode("utf-8", "surrogatepass"))
    return ProblemError(
        400,
        ErrorCode.MALFORMED_JSON,
        f"the request body is not valid JSON: {reason} at line {line}, column {column} "
        f"(byte offset {offset})",
        location=TextLocation(line=line, column=column, offset=offset),
    )


# A node of the walk: (value, depth, parent node, member name or index in the parent).
_Node = tuple[Any, int, "_Node | None", "str | int | None"]


class _MemberName(str):
    """A member name, checked like a string value, at its member's place."""

    __slots__ = ()


def _plainly_acceptable(document: Any, text: str, max_depth: int, max_string: int) -> bool:
    """True when no value is too deep or too long and no string can hold a lone surrogate
    (one is written as a `\\udXXX` escape: raw UTF-8 cannot carry it). The common case, checked
    without building places; otherwise `_inspect` finds where the problem is."""
    if _SURROGATE_ESCAPE.search(text):
        return False
    long_strings_possible = len(text) > max_string
    if not isinstance(document, dict | list):
        return not (isinstance(document, str) and len(document) > max_string)
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return False
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif long_strings_possible and isinstance(item, str) and len(item) > max_string:
                return False
        if (
            long_strings_possible
            and isinstance(value, dict)
            and any(len(name) > max_string for name in value)
        ):
            return False
    return True


def _inspect(document: Any, max_depth: int, max_string: int) -> list[TextProblem]:
    """Refuse the first value too deep or too long; collect strings that are not Unicode.

    Iterative and in document order, so hostile nesting cannot exhaust the stack and the
    first offending value is the one named.
    """
    not_unicode: list[TextProblem] = []
    stack: list[_Node] = [(document, 1, None, None)]
    while stack:
        node = stack.pop()
        value, depth = node[0], node[1]
        if isinstance(value, str):
            if len(value) > max_string:
                raise _too_complex(
                    f"a JSON string is longer than {max_string} characters", _parts(node)
                )
            if not value.isascii() and _SURROGATE.search(value):
                what = "a member name" if isinstance(value, _MemberName) else "a string"
                not_unicode.append(
                    TextProblem(_parts(node), f"{what} holds a lone surrogate (\\u escape)")
                )
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise _too_complex(f"JSON nested deeper than {max_depth} levels", _parts(node))
            children: list[_Node] = []
            if isinstance(value, dict):
                for name, item in value.items():
                    children.append((_MemberName(name), depth, node, name))
                    children.append((item, depth + 1, node, name))
            else:
                children.extend((item, depth + 1, node, index) for index, item in enumerate(value))
            stack.extend(reversed(children))
    return not_unicode


def _parts(node: _Node) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    current: _Node | None = node
    while current is not None and current[3] is not None:
        parts.append(current[3])
        current = current[2]
    return tuple(reversed(parts))


def _deep_container(text: str, max_depth: int) -> tuple[str | int, ...]:
    """The place of the first container nested deeper than `max_depth`, found by scanning the
    text (the parser gave up on it: it is deeper than Python's recursion limit)."""
    frames: list[list[Any]] = []  # [is_object, member name or index]
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = _string_end(text, index)
            if frames and frames[-1][0] and frames[-1][1] is None:
                frames[-1][1] = _member_name(text[index : end + 1])
            index = end
        elif char in "{[":
            if len(frames) >= max_depth:
                break
            frames.append([char == "{", None if char == "{" else 0])
        elif char in "}]" and frames:
            frames.pop()
        elif char == "," and frames:
            frames[-1][1] = None if frames[-1][0] else frames[-1][1] + 1
        index += 1
    return tuple(frame[1] for frame in frames)


def _member_name(literal: str) -> str:
    try:
        name: str = json.loads(literal, strict=False)
    except ValueError:
        return literal.strip('"')
    return name


def _string_end(text: str, start: int) -> int:
    index = start + 1
    while index < len(text) and text[index] != '"':
        index += 2 if text[index] == "\\" else 1
    return min(index, len(text) - 1)


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413, ErrorCode.BODY_TOO_LARGE, f"the request body is larger than {limit} bytes"
    )


def _too_complex(reason: str, parts: tuple[str | int, ...]) -> ProblemError:
    where = printable(pointer(parts))
    return ProblemError(
        400,
        ErrorCode.INPUT_TOO_COMPLEX,
        f"the request body is refused: {reason} (at {where or 'the top level'})",
        errors=[ProblemField(path=where, message=reason)],
    )
