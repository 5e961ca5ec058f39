"""The sample files in examples/ are what the README says: each applies through its transformer,
with no error, read as the ingest CLI reads it."""

from __future__ import annotations

from pathlib import Path

from catalog_gateway.events.types import EventType
from tests.factories import bearer
from tests.lobs.conftest import LobApi, source_payloads

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_every_example_file_applies_through_its_transformer(lob_api: LobApi) -> None:
    keys = lob_api.keys
    files = [
        ("exec-ed-products.json", keys.exec_ed, EventType.PRODUCT_UPSERT),
        ("discovery-courses.csv", keys.discovery, EventType.PRODUCT_UPSERT),
        ("degrees.csv", keys.degrees, EventType.DEGREE_UPSERT),  # its courses come first
    ]
    for file, key, event_type in files:
        payloads = source_payloads(EXAMPLES / file, event_type)
        assert payloads, file
        for number, payload in enumerate(payloads):
            response = lob_api.send(key, f"{file}-{number}", payload, event_type=event_type.value)
            assert response.status_code == 200, (file, number, response.text)
            assert response.json()["status"] == "applied"

    assert sorted(lob_api.courses()) == ["HarvardX+CS50P", "HarvardX+LE", "MITx+DSL", "MITx+PM101"]
    degree = lob_api.client.get(
        "/api/v1/degrees/masters-business-analytics-mit",
        headers=bearer(keys.degrees),
    )
    assert degree.status_code == 200, degree.text
    assert degree.json()["courses"] == ["MITx+PM101", "MITx+DSL"]
