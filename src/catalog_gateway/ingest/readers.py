"""Files of source payloads → source records, in file order (SPEC §2 conventions).

- JSON: a list of payloads, one payload object, or the product API's `{"products": [...]}`.
- JSON lines: one payload per line; blank lines are skipped.
- CSV: header names normalised, values kept as strings, rows grouped into one payload
  `{"rows": [...]}` per product: by (organization, number) for `product.upsert`, one row per
  event for any other type.

A JSON item holding exactly `event_type` and `payload` (and optionally `event_id` and
`occurred_at`) is a full envelope and keeps its own type, id and time.

Anything that cannot be read raises `InputError` naming the line, item or row, so that a bad
file is refused before a single event is sent.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from catalog_gateway.events.envelope import EVENT_ID_PATTERN
from catalog_gateway.events.types import EventType


class FileFormat(StrEnum):
    """How a file of source payloads is written."""

    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"


FORMAT_BY_EXTENSION = {
    ".jsonl": FileFormat.JSONL,
    ".ndjson": FileFormat.JSONL,
    ".json": FileFormat.JSON,
    ".csv": FileFormat.CSV,
}
GROUPING_COLUMNS = ("organization", "number")
RANGE_DASH = "\u2013"  # an en dash: "rows 3-5" with it reads as a range of rows
_ENVELOPE_REQUIRED = frozenset({"event_type", "payload"})
_ENVELOPE_KEYS = _ENVELOPE_REQUIRED | {"event_id", "occurred_at"}
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
_WHITESPACE_RUN = re.compile(r"\s+")


class InputError(Exception):
    """The file cannot be read as asked; the message names where."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One payload read from the file, and where it came from."""

    payload: dict[str, Any]
    event_type: EventType
    where: str  # "line 12", "item 3", "row 7", "rows 3-5" (with an en dash), "rows 3, 7"
    event_id: str | None = None  # only from a full envelope
    occurred_at: datetime | None = None  # only from a full envelope
    rows: tuple[int, ...] = ()  # CSV: the file row of each element of payload["rows"]

    def locate(self, source_path: str | None) -> str:
        """Where in the file a source path points: the CSV row of `/rows/<i>/…`, else `where`."""
        if self.rows and source_path:
            match = re.match(r"^/rows/(\d+)(?:/|$)", source_path)
            if match and int(match.group(1)) < len(self.rows):
                return f"row {self.rows[int(match.group(1))]}"
        return self.where


def detect_format(path: Path) -> FileFormat:
    """The format that the file's extension names."""
    try:
        return FORMAT_BY_EXTENSION[path.suffix.lower()]
    except KeyError:
        known = ", ".join(FORMAT_BY_EXTENSION)
        raise InputError(
            f"cannot tell the format of {path.name} from its extension ({known}): "
            "give --format jsonl, json or csv"
        ) from None


def read_records(path: Path, file_format: FileFormat, event_type: EventType) -> list[SourceRecord]:
    """Every record of the file, in file order; `event_type` for those not in an envelope."""
    text = _read_text(path)
    if file_format is FileFormat.JSONL:
        return read_json_lines(text, event_type)
    if file_format is FileFormat.JSON:
        return read_json(text, event_type)
    return read_csv(text, event_type)


def read_json_lines(text: str, event_type: EventType) -> list[SourceRecord]:
    """One record per non-blank line."""
    records = []
    # split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() breaks on
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno})"
            ) from None
        records.append(_record(item, where, event_type))
    return records


def read_json(text: str, event_type: EventType) -> list[SourceRecord]:
    """A list of payloads, `{"products": [...]}`, or a single payload."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})"
        ) from None
    if isinstance(document, dict) and isinstance(document.get("products"), list):
        document = document["products"]
    if isinstance(document, dict):
        return [_record(document, "item 1", event_type)]
    if not isinstance(document, list):
        raise InputError(
            'expected a JSON object, a list of objects or {"products": [...]}, '
            f"not a {_json_type(document)}"
        )
    return [_record(item, f"item {n}", event_type) for n, item in enumerate(document, start=1)]


def read_csv(text: str, event_type: EventType) -> list[SourceRecord]:
    """Rows grouped into one `{"rows": [...]}` payload per product (SPEC §2)."""
    rows = list(_csv_rows(text))
    if event_type is not EventType.PRODUCT_UPSERT:
        return [_rows_record([row], event_type) for row in rows]
    if rows:
        missing = [name for name in GROUPING_COLUMNS if name not in rows[0][1]]
        if missing:
            raise InputError(
                f"row 1: no {' or '.join(f'`{name}`' for name in missing)} column; "
                "product.upsert rows are grouped into products by (organization, number)"
            )
    return [_rows_record(group, event_type) for group in _group_by_product(rows)]


def normalise_header(name: str) -> str:
    """` Start  Date ` → `start_date`: trimmed, lower-cased, whitespace runs → `_`."""
    return _WHITESPACE_RUN.sub("_", name.strip().lower())


def describe_rows(numbers: Iterable[int]) -> str:
    """`row 3`, or `rows 3-5, 9`: consecutive rows as a range (written with an en dash)."""
    ordered = sorted(numbers)
    spans: list[list[int]] = []
    for number in ordered:
        if spans and number == spans[-1][-1] + 1:
            spans[-1].append(number)
        else:
            spans.append([number])
    label = ", ".join(f"{s[0]}{RANGE_DASH}{s[-1]}" if len(s) > 1 else f"{s[0]}" for s in spans)
    return f"{'rows' if len(ordered) > 1 else 'row'} {label}"


# --- JSON items -----------------------------------------------------------------------------


def _record(item: Any, where: str, event_type: EventType) -> SourceRecord:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a JSON object, not a {_json_type(item)}")
    if _ENVELOPE_REQUIRED <= item.keys() <= _ENVELOPE_KEYS:
        return _envelope_record(item, where)
    return SourceRecord(payload=item, event_type=event_type, where=where)


def _envelope_record(item: dict[str, Any], where: str) -> SourceRecord:
    """A full envelope: checked here, so a bad one stops the run before anything is sent."""
    try:
        event_type = EventType(item["event_type"])
    except ValueError:
        known = ", ".join(t.value for t in EventType)
        raise InputError(
            f"{where}: unknown event_type {item['event_type']!r} (one of {known})"
        ) from None
    payload = item["payload"]
    if not isinstance(payload, dict):
        raise InputError(f"{where}: the envelope's payload must be a JSON object")
    event_id = item.get("event_id")
    if event_id is not None and not (isinstance(event_id, str) and _EVENT_ID.match(event_id)):
        raise InputError(f"{where}: event_id must be 1 to 128 printable ASCII characters")
    return SourceRecord(
        payload=payload,
        event_type=event_type,
        where=where,
        event_id=event_id,
        occurred_at=_occurred_at(item.get("occurred_at"), where),
    )


def _occurred_at(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InputError(
            f"{where}: occurred_at must be an RFC 3339 time with an offset, "
            f"e.g. 2026-11-28T10:00:00Z (got {value!r})"
        )
    return moment


def _json_type(value: Any) -> str:
    names = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --- CSV rows -------------------------------------------------------------------------------

CsvRow = tuple[int, dict[str, str]]  # (row number in the file, header → value)


def _csv_rows(text: str) -> Iterator[CsvRow]:
    """Data rows numbered as a spreadsheet shows them (the header is row 1); blank rows skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        names = _header_names(header)
        for number, cells in enumerate(reader, start=2):
            if any(cell.strip() for cell in cells):
                yield number, _row_values(number, names, cells)
    except csv.Error as error:
        raise InputError(f"line {reader.line_num}: not valid CSV ({error})") from None


def _header_names(header: list[str]) -> list[str]:
    names = [normalise_header(cell) for cell in header]
    seen: dict[str, int] = {}
    for column, name in enumerate(names, start=1):
        if name and name in seen:
            raise InputError(
                f"row 1: columns {seen[name]} and {column} are both named `{name}` "
                "(header names are compared trimmed, lower-cased, spaces as `_`)"
            )
        seen[name] = column
    return names


def _row_values(number: int, names: list[str], cells: list[str]) -> dict[str, str]:
    cells = cells + [""] * (len(names) - len(cells))  # spreadsheets drop trailing empty cells
    values: dict[str, str] = {}
    for column, cell in enumerate(cells, start=1):
        name = names[column - 1] if column <= len(names) else ""
        if name:
            values[name] = cell
        elif cell.strip():
            raise InputError(f"row {number}: column {column} has a value but no header name")
    return values


def _group_by_product(rows: list[CsvRow]) -> list[list[CsvRow]]:
    """Rows sharing (organization, number), in file order; a row lacking either stands alone,
    so that the gateway reports its missing field instead of merging unrelated rows."""
    groups: dict[tuple[str, ...], list[CsvRow]] = {}
    for number, values in rows:
        key = tuple(values[name] for name in GROUPING_COLUMNS)
        if not all(part.strip() for part in key):
            key = ("", str(number))
        groups.setdefault(key, []).append((number, values))
    return list(groups.values())


def _rows_record(rows: list[CsvRow], event_type: EventType) -> SourceRecord:
    numbers = tuple(number for number, _ in rows)
    return SourceRecord(
        payload={"rows": [values for _, values in rows]},
        event_type=event_type,
        where=describe_rows(numbers),
        rows=numbers,
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")  # tolerate the byte-order mark spreadsheets write
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(f"line {line}: the file is not UTF-8 text") from None
