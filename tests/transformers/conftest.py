"""Fixtures: an operator's mappings directory, seen by the registries built after it is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_gateway.settings import get_settings

BOOTCAMPS_MAPPING = """\
name: bootcamps
description: Bootcamp cohorts
events:
  product.upsert:
    course:
      external_id: {path: /bootcamp/id, required: true}
      organization: /bootcamp/school
      number: /bootcamp/code
      title: {path: /bootcamp/name, required: true}
      course_type: {const: bootcamp-2u}
    course_runs:
      each: /cohorts
      fields:
        external_id: /uuid
        start: {path: /startsOn, type: datetime}
        end: {path: /endsOn, type: datetime, end_of_day: true}
        pacing: {const: instructor_paced}
        run_type: {const: paid-bootcamp}
        seats:
          each: ["."]
          fields:
            type: {const: paid-bootcamp}
            price: {path: /tuition, type: decimal}
            currency: {const: USD}
"""


@pytest.fixture
def mappings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CATALOG_GATEWAY_MAPPINGS_DIR set to an empty directory (registries built now read it)."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    monkeypatch.setenv("CATALOG_GATEWAY_MAPPINGS_DIR", str(directory))
    get_settings.cache_clear()
    yield directory
    monkeypatch.delenv("CATALOG_GATEWAY_MAPPINGS_DIR")
    get_settings.cache_clear()
