"""Reading files of source payloads: formats, envelopes, CSV grouping, and located errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.readers import (
    FileFormat,
    InputError,
    describe_rows,
    detect_format,
    normalise_header,
    read_csv,
    read_json,
    read_json_lines,
    read_records,
)

UPSERT = EventType.PRODUCT_UPSERT

DISCOVERY_CSV = (
    "Organization,Number, Course Title ,Start  Date,Price\n"
    "MIT,DS101,Data Science,2027-02-01,2800.00\n"
    "HarvardX,CS50,Computer Science,2027-01-10,0\n"
    "MIT,DS101,Data Science,2027-06-01,2950.00\n"
    ",,,,\n"
    "MIT,DS102,Leading with Data,2027-03-01,\n"
)


def test_a_json_list_is_one_record_per_item_in_order() -> None:
    records = read_json(json.dumps([{"id": "a"}, {"id": "b"}]), UPSERT)

    assert [(r.payload, r.where, r.event_type) for r in records] == [
        ({"id": "a"}, "item 1", UPSERT),
        ({"id": "b"}, "item 2", UPSERT),
    ]


def test_a_single_json_object_is_one_record() -> None:
    (record,) = read_json('{"id": "a"}', EventType.DEGREE_UPSERT)

    assert (record.payload, record.where, record.event_type) == (
        {"id": "a"},
        "item 1",
        EventType.DEGREE_UPSERT,
    )


def test_the_product_api_envelope_is_read_as_its_products() -> None:
    records = read_json(json.dumps({"products": [{"id": "a"}, {"id": "b"}]}), UPSERT)

    assert [r.payload for r in records] == [{"id": "a"}, {"id": "b"}]


def test_a_full_envelope_keeps_its_own_type_id_and_time() -> None:
    item = {
        "event_id": "lob-1",
        "event_type": "product.retire",
        "occurred_at": "2026-11-28T10:00:00Z",
        "payload": {"course": {"external_id": "xe-1"}},
    }

    (record,) = read_json(json.dumps([item]), UPSERT)

    assert record.event_type is EventType.PRODUCT_RETIRE
    assert record.event_id == "lob-1"
    assert record.occurred_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert record.payload == {"course": {"external_id": "xe-1"}}


def test_an_object_with_more_than_envelope_keys_is_a_payload() -> None:
    item = {"event_type": "x", "payload": {}, "title": "A course"}

    (record,) = read_json(json.dumps(item), UPSERT)

    assert record.payload == item
    assert record.event_id is None


@pytest.mark.parametrize(
    ("envelope", "complaint"),
    [
        ({"event_type": "course.delete", "payload": {}}, "unknown event_type 'course.delete'"),
        ({"event_type": "product.upsert", "payload": []}, "payload must be a JSON object"),
        ({"event_type": "product.upsert", "payload": {}, "event_id": "a b"}, "event_id"),
        (
            {"event_type": "product.upsert", "payload": {}, "occurred_at": "2026-11-28"},
            "occurred_at must be an RFC 3339 time with an offset",
        ),
    ],
)
def test_a_malformed_envelope_is_refused_naming_its_item(
    envelope: dict[str, object], complaint: str
) -> None:
    with pytest.raises(InputError, match=r"^item 2: ") as raised:
        read_json(json.dumps([{"id": "a"}, envelope]), UPSERT)

    assert complaint in str(raised.value)


def test_json_lines_skip_blank_lines_and_are_located_by_line() -> None:
    text = '{"id": "a"}\n\n   \n{"id": "b"}\r\n'

    records = read_json_lines(text, UPSERT)

    assert [(r.payload, r.where) for r in records] == [
        ({"id": "a"}, "line 1"),
        ({"id": "b"}, "line 4"),
    ]


def test_a_line_separator_inside_a_json_string_does_not_split_the_line() -> None:
    (record,) = read_json_lines('{"title": "one\u2028two"}\n', UPSERT)

    assert record.payload == {"title": "one\u2028two"}


def test_bad_json_on_a_line_is_refused_naming_the_line() -> None:
    text = "\n".join(['{"id": 1}'] * 6 + ['{"id": 7,,}'])

    with pytest.raises(InputError, match=r"^line 7: not valid JSON"):
        read_json_lines(text, UPSERT)


def test_bad_json_in_a_json_file_is_refused_naming_line_and_column() -> None:
    with pytest.raises(InputError, match=r"^line 3, column 1: not valid JSON"):
        read_json('[\n{"id": 1}\n{"id": 2}]', UPSERT)


@pytest.mark.parametrize(("text", "kind"), [("[1]", "number"), ('["a"]', "string")])
def test_an_item_that_is_not_an_object_is_refused(text: str, kind: str) -> None:
    with pytest.raises(InputError, match=f"^item 1: expected a JSON object, not a {kind}$"):
        read_json(text, UPSERT)


def test_csv_headers_are_trimmed_lower_cased_and_spaces_become_underscores() -> None:
    assert normalise_header("  Start   Date ") == "start_date"
    assert normalise_header("Course Title") == "course_title"


def test_product_rows_are_grouped_by_organization_and_number_in_file_order() -> None:
    records = read_csv(DISCOVERY_CSV, UPSERT)

    assert [(r.where, r.rows) for r in records] == [
        ("rows 2, 4", (2, 4)),
        ("row 3", (3,)),
        ("row 6", (6,)),
    ]
    assert records[0].payload == {
        "rows": [
            {
                "organization": "MIT",
                "number": "DS101",
                "course_title": "Data Science",
                "start_date": "2027-02-01",
                "price": "2800.00",
            },
            {
                "organization": "MIT",
                "number": "DS101",
                "course_title": "Data Science",
                "start_date": "2027-06-01",
                "price": "2950.00",
            },
        ]
    }
    assert records[2].payload["rows"][0]["price"] == ""


def test_consecutive_rows_of_a_product_are_described_as_a_range() -> None:
    text = "organization,number\nMIT,A\nMIT,A\nMIT,A\nMIT,B\nMIT,A\n"

    (first, second) = read_csv(text, UPSERT)

    assert first.where == "rows 2\u20134, 6"
    assert second.where == "row 5"
    assert describe_rows([9]) == "row 9"


def test_other_event_types_are_one_row_per_event() -> None:
    text = "Marketing Slug,Title\nds-ms,Data Science MS\nai-ms,AI MS\n"

    records = read_csv(text, EventType.DEGREE_UPSERT)

    assert [(r.payload, r.where) for r in records] == [
        ({"rows": [{"marketing_slug": "ds-ms", "title": "Data Science MS"}]}, "row 2"),
        ({"rows": [{"marketing_slug": "ai-ms", "title": "AI MS"}]}, "row 3"),
    ]


def test_a_row_without_organization_or_number_is_an_event_of_its_own() -> None:
    text = "organization,number,title\n,,One\n,,Two\n"

    records = read_csv(text, UPSERT)

    assert [r.where for r in records] == ["row 2", "row 3"]


def test_a_product_csv_without_the_grouping_columns_is_refused() -> None:
    with pytest.raises(InputError, match=r"^row 1: no `number` column; product.upsert rows"):
        read_csv("Organization,Title\nMIT,Data Science\n", UPSERT)


def test_short_rows_are_padded_with_empty_values() -> None:
    (record,) = read_csv("organization,number,title\nMIT,DS101\n", UPSERT)

    assert record.payload == {"rows": [{"organization": "MIT", "number": "DS101", "title": ""}]}


def test_a_value_in_a_column_without_a_header_is_refused_naming_the_row() -> None:
    with pytest.raises(InputError, match=r"^row 3: column 3 has a value but no header name$"):
        read_csv("organization,number\nMIT,A\nMIT,B,oops\n", UPSERT)


def test_columns_named_alike_after_normalisation_are_refused() -> None:
    with pytest.raises(InputError, match=r"^row 1: columns 1 and 3 are both named `title`"):
        read_csv("Title,number, TITLE\n", UPSERT)


def test_a_source_path_into_csv_rows_is_located_at_its_file_row() -> None:
    first = read_csv(DISCOVERY_CSV, UPSERT)[0]

    assert first.locate("/rows/1/start_date") == "row 4"
    assert first.locate("/rows/0") == "row 2"
    assert first.locate("/course/title") == "rows 2, 4"
    assert first.locate(None) == "rows 2, 4"


def test_a_utf8_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes("\ufefforganization,number\nMIT,DS101\n".encode())

    (record,) = read_records(path, FileFormat.CSV, UPSERT)

    assert record.payload == {"rows": [{"organization": "MIT", "number": "DS101"}]}


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_bytes(b'{"id": 1}\n{"title": "caf\xe9"}\n')

    with pytest.raises(InputError, match=r"^line 2: the file is not UTF-8 text$"):
        read_records(path, FileFormat.JSONL, UPSERT)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", FileFormat.JSONL),
        ("a.NDJSON", FileFormat.JSONL),
        ("a.json", FileFormat.JSON),
        ("a.csv", FileFormat.CSV),
    ],
)
def test_the_format_is_told_by_the_extension(name: str, expected: FileFormat) -> None:
    assert detect_format(Path(name)) is expected


def test_an_unknown_extension_asks_for_format() -> None:
    with pytest.raises(InputError, match="give --format jsonl, json or csv"):
        detect_format(Path("catalog.txt"))
