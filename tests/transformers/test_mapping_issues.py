"""Errors or warnings: what the transform reports when a source value cannot be mapped."""

from __future__ import annotations

from catalog_gateway.events.types import EventType
from tests.transformers.support import course, issues, mapping


def test_a_missing_required_field_is_an_error_naming_the_source_field() -> None:
    result = course("title: {path: /name, required: true}", {"name": "  "})
    [error] = result.errors
    assert (error.code.value, error.message, error.step) == (
        "required",
        "`/name` is required",
        "transform",
    )
    assert (error.path, error.source_path) == ("/course/title", "/name")


def test_a_required_first_of_names_every_path_it_tried() -> None:
    result = course("title: {first_of: [/altName, /name], required: true}", {})
    [error] = result.errors
    assert error.message == "one of `/altName`, `/name` is required"
    assert error.source_path == "/altName"


def test_bad_base64_in_an_optional_field_is_a_warning_and_the_field_is_left_out() -> None:
    result = course(
        "image_url: {path: /cardUrl, decode: base64, type: url, default: https://x.org/a.png}",
        {"cardUrl": "%%%"},
    )
    assert result.payload == {"course": {}}
    assert result.errors == []
    [warning] = result.warnings
    assert warning.message == "`/cardUrl` is not valid base64"
    assert (warning.code.value, warning.path, warning.source_path) == (
        "invalid_format",
        "/course/image_url",
        "/cardUrl",
    )


def test_bad_base64_in_a_required_field_is_one_error() -> None:
    result = course(
        "image_url: {path: /cardUrl, decode: base64, type: url, required: true}",
        {"cardUrl": "%%%"},
    )
    assert issues(result) == {
        "errors": {("invalid_format", "/course/image_url", "/cardUrl")},
        "warnings": set(),
    }


def test_on_error_error_makes_an_optional_field_s_bad_value_an_error() -> None:
    result = course("title: {path: /v, type: int, on_error: error}", {"v": "four"})
    assert issues(result)["errors"] == {("invalid_format", "/course/title", "/v")}
    assert result.warnings == []


def test_on_error_warn_on_a_required_field_warns_then_reports_it_missing() -> None:
    result = course("title: {path: /v, type: int, required: true, on_error: warn}", {"v": "x"})
    assert issues(result) == {
        "errors": {("required", "/course/title", "/v")},
        "warnings": {("invalid_format", "/course/title", "/v")},
    }


def test_an_unmapped_value_is_an_invalid_choice_listing_the_allowed_values() -> None:
    rule = "{path: /lang, map: {English: en-US, Spanish: es-419}}"
    optional = course(f"title: {rule}", {"lang": "Klingon"})
    [warning] = optional.warnings
    assert warning.code.value == "invalid_choice"
    assert warning.message == (
        "`/lang` has a value with no mapping: 'Klingon'; allowed: English, Spanish"
    )
    required = course("title: {path: /lang, map: {English: en}, required: true}", {"lang": "x"})
    assert issues(required)["errors"] == {("invalid_choice", "/course/title", "/lang")}


def test_a_required_each_with_no_items_names_its_paths() -> None:
    transformer = mapping(
        """
        name: test
        events:
          product.upsert:
            course_runs: {each: [/variant, /variants], required: true, fields: {external_id: /id}}
        """
    )
    result = transformer.transform(EventType.PRODUCT_UPSERT, {"variants": []})
    [error] = result.errors
    assert error.message == "one of `/variant`, `/variants` is required"
    assert (error.path, error.source_path) == ("/course_runs", "/variant")
