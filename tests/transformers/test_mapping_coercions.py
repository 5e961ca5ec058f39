"""`type:` (with `formats`, `timezone`, `end_of_day`): source values → canonical values."""

from __future__ import annotations

from typing import Any

import pytest

from tests.transformers.support import course, course_field


@pytest.mark.parametrize(
    ("type_rule", "value", "expected"),
    [
        ("string", "  Data Science ", "Data Science"),
        ("string", 101, "101"),
        ("string", 2.5, "2.5"),
        ("int", 8, 8),
        ("int", " 8 ", 8),
        ("int", 8.0, 8),
        ("int", "-3", -3),
        ("decimal", "2800.00", "2800.00"),
        ("decimal", 2800, "2800"),
        ("decimal", 2800.5, "2800.5"),
        ("decimal", " 12.345 ", "12.345"),
        ("bool", "Yes", True),
        ("bool", "no", False),
        ("bool", "1", True),
        ("bool", "FALSE", False),
        ("bool", 0, False),
        ("bool", True, True),
        ("date", "2027-02-01", "2027-02-01"),
        ("date", "02/01/2027", "2027-02-01"),
        ("date", "2027-02-01T10:00:00Z", "2027-02-01"),
        ("datetime", "2027-02-01", "2027-02-01T00:00:00Z"),
        ("datetime", "2027-02-01T10:30:00+02:00", "2027-02-01T08:30:00Z"),
        ("datetime", "2027-02-01T10:30:00.250Z", "2027-02-01T10:30:00.250000Z"),
        ("datetime", "02/01/2027", "2027-02-01T00:00:00Z"),
        ("url", "https://example.com/x", "https://example.com/x"),
        ("url", "www.example.com/x?y=1", "https://www.example.com/x?y=1"),
        ("url", "HTTP://Example.com", "HTTP://Example.com"),
        ("list", "math", ["math"]),
        ("list", ["math", "physics"], ["math", "physics"]),
    ],
)
def test_type_converts_source_values(type_rule: str, value: Any, expected: Any) -> None:
    assert course_field(f"{{path: /v, type: {type_rule}}}", {"v": value}) == expected


@pytest.mark.parametrize(
    ("type_rule", "value", "code"),
    [
        ("string", {"a": 1}, "invalid_type"),
        ("string", True, "invalid_type"),
        ("int", "4.5", "invalid_format"),
        ("int", 4.5, "invalid_format"),
        ("int", True, "invalid_type"),
        ("int", {"n": 4}, "invalid_type"),
        ("decimal", "12,00", "invalid_format"),
        ("decimal", "NaN", "invalid_format"),
        ("bool", "maybe", "invalid_format"),
        ("date", "31/31/2027", "invalid_format"),
        ("date", 20270201, "invalid_type"),
        ("datetime", "soon", "invalid_format"),
        ("url", "ftp://example.com/x", "invalid_format"),
        ("url", "https://", "invalid_format"),
        ("url", "https://exa mple.com", "invalid_format"),
        ("url", 7, "invalid_type"),
    ],
)
def test_values_a_type_cannot_use_are_reported_with_a_code(
    type_rule: str, value: Any, code: str
) -> None:
    result = course(f"title: {{path: /v, type: {type_rule}}}", {"v": value})
    assert result.payload == {"course": {}}
    assert [(w.code.value, w.path, w.source_path) for w in result.warnings] == [
        (code, "/course/title", "/v")
    ]
    assert result.warnings[0].message.startswith("`/v` ")


def test_datetime_formats_and_timezone_apply_to_naive_values() -> None:
    rule = "{path: /v, type: datetime, formats: ['%d.%m.%Y %H:%M'], timezone: America/New_York}"
    assert course_field(rule, {"v": "01.02.2027 09:00"}) == "2027-02-01T14:00:00Z"
    result = course(f"title: {rule}", {"v": "2027-02-01"})
    assert "expected format (%d.%m.%Y %H:%M)" in result.warnings[0].message


def test_end_of_day_makes_a_date_the_last_second_of_that_day() -> None:
    rule = "{path: /v, type: datetime, end_of_day: true, timezone: Europe/Paris}"
    assert course_field(rule, {"v": "2027-03-29"}) == "2027-03-29T21:59:59Z"
    assert course_field(rule, {"v": "2027-03-29T12:00:00"}) == "2027-03-29T10:00:00Z"
    us_dates = "{path: /v, type: datetime, end_of_day: true, formats: ['%m/%d/%Y']}"
    assert course_field(us_dates, {"v": "03/29/2027"}) == "2027-03-29T23:59:59Z"


def test_a_type_applies_to_each_element_of_a_list_and_drops_the_bad_ones() -> None:
    result = course("subjects: {path: /v, type: int}", {"v": ["1", "x", None, 3.0]})
    assert result.payload == {"course": {"subjects": [1, 3]}}
    assert [w.code.value for w in result.warnings] == ["invalid_format"]
    assert "'x'" in result.warnings[0].message
