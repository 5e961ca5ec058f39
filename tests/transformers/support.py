"""Building mapping transformers from YAML written inline in the tests."""

from __future__ import annotations

import textwrap
from typing import Any

import httpx
from fastapi.testclient import TestClient

from catalog_gateway.events.types import EventType
from catalog_gateway.transformers.base import TransformResult
from catalog_gateway.transformers.mapping import MappingTransformer, parse_mapping
from tests.factories import bearer


def mapping(yaml_text: str, *, file: str = "test.yaml") -> MappingTransformer:
    """A transformer from a whole mapping file written inline (dedented)."""
    return parse_mapping(textwrap.dedent(yaml_text), file=file)


def course_mapping(course_yaml: str, *, hooks: str | None = None) -> MappingTransformer:
    """A `product.upsert` mapping whose `course:` object is `course_yaml` (dedented)."""
    body = textwrap.indent(textwrap.dedent(course_yaml).strip(), " " * 6)
    header = f"hooks: {hooks}\n" if hooks else ""
    return mapping(f"name: test\n{header}events:\n  product.upsert:\n    course:\n{body}\n")


def course(course_yaml: str, raw: dict[str, Any], *, hooks: str | None = None) -> TransformResult:
    """Map `raw` as a product with the course rules `course_yaml`."""
    return course_mapping(course_yaml, hooks=hooks).transform(EventType.PRODUCT_UPSERT, raw)


def course_field(rule_yaml: str, raw: dict[str, Any], field: str = "title") -> Any:
    """The value one rule gives the course field `field` (None when left out)."""
    result = course(f"{field}: {rule_yaml}", raw)
    assert result.payload is not None
    return result.payload.get("course", {}).get(field)


def issues(result: TransformResult) -> dict[str, set[tuple[str, str | None, str | None]]]:
    """Errors and warnings as {(code, canonical path, source path)}."""
    return {
        "errors": {(i.code.value, i.path, i.source_path) for i in result.errors},
        "warnings": {(i.code.value, i.path, i.source_path) for i in result.warnings},
    }


def post_event(
    client: TestClient,
    api_key: str,
    payload: dict[str, Any],
    event_id: str = "bc-1",
    event_type: str = "product.upsert",
) -> httpx.Response:
    """POST one event with this payload, as the source whose key it is."""
    event = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": "2026-11-28T10:00:00Z",
        "payload": payload,
    }
    return client.post("/api/v1/events", json=event, headers=bearer(api_key))


def sample_cohort(**changes: Any) -> dict[str, Any]:
    """A bootcamp cohort as the bootcamps team sends it."""
    return {
        "uuid": "cohort-1",
        "startsOn": "2027-03-01T00:00:00Z",
        "endsOn": "2027-06-01T00:00:00Z",
        "tuition": "12500.00",
    } | changes
