"""The reference ecommerce server on its own, over HTTP: validation as the real publication API
does it, stable SKUs that survive a restart, and fault injection."""

from __future__ import annotations

import copy
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ecommerce.server import Ecommerce, attribute, by_class, start_server

RUN_KEY = "course-v1:MITx+DS101+1T2027"
OTHER_RUN_KEY = "course-v1:MITx+DS101+2T2027"
COURSE_UUID = str(uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"))


def seat(price: str = "2800.00", certificate_type: str = "verified") -> dict[str, Any]:
    return {
        "product_class": "Seat",
        "price": price,
        "expires": "2027-01-25T23:59:59+00:00",
        "attribute_values": [
            {"name": "certificate_type", "value": certificate_type},
            {"name": "id_verification_required", "value": certificate_type == "verified"},
        ],
        "stockrecords": [{"partner_sku": None}],
    }


def entitlement(price: str = "2800.00") -> dict[str, Any]:
    return {
        "product_class": "Course Entitlement",
        "price": price,
        "attribute_values": [{"name": "certificate_type", "value": "verified"}],
    }


def body(run_key: str = RUN_KEY, **changes: Any) -> dict[str, Any]:
    """A valid publication: a verified seat and the course entitlement."""
    data: dict[str, Any] = {
        "id": run_key,
        "uuid": COURSE_UUID,
        "name": "Data Science for Leaders",
        "verification_deadline": "2027-03-29T23:59:59+00:00",
        "products": [seat(), entitlement()],
    }
    return data | changes


def skus(products: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(p["product_class"], p["certificate_type"]): p["partner_sku"] for p in products}


def test_a_valid_publication_is_stored_with_skus(ecommerce: Ecommerce) -> None:
    response = ecommerce.publish(body())

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["id"] == RUN_KEY
    stored = ecommerce.products(RUN_KEY)
    assert stored == answer["products"]
    assert sorted(p["product_class"] for p in stored) == ["Course Entitlement", "Seat"]
    (stored_seat,) = by_class(stored, "Seat")
    assert stored_seat["price"] == "2800.00"
    assert attribute(stored_seat, "certificate_type") == "verified"
    assert attribute(stored_seat, "id_verification_required") is True
    assert all(p["partner_sku"] for p in stored)
    assert len({p["partner_sku"] for p in stored}) == 2
    assert ecommerce.products(OTHER_RUN_KEY) == []


def _without_certificate_type() -> dict[str, Any]:
    product = seat()
    product["attribute_values"] = [{"name": "id_verification_required", "value": True}]
    return body(products=[product])


def _with(**product_changes: Any) -> dict[str, Any]:
    return body(products=[seat() | product_changes])


INVALID_BODIES = {
    "bad run key": (body(run_key="MITx/DS101/2027"), "id:"),
    "bad uuid": (body(uuid="not-a-uuid"), "uuid:"),
    "blank name": (body(name="   "), "name:"),
    "negative price": (_with(price="-1.00"), "products[0].price"),
    "price not a number": (_with(price="free"), "products[0].price"),
    "unknown product class": (_with(product_class="Coupon"), "products[0].product_class"),
    "missing certificate_type": (_without_certificate_type(), "certificate_type"),
    "duplicate product": (body(products=[seat(), entitlement(), seat("99.00")]), "products[2]"),
    "bad verification deadline": (
        body(verification_deadline="next spring"),
        "verification_deadline",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_BODIES), ids=list(INVALID_BODIES))
def test_an_invalid_publication_is_refused_naming_the_field(
    ecommerce: Ecommerce, case: str
) -> None:
    invalid, field = INVALID_BODIES[case]

    response = ecommerce.publish(copy.deepcopy(invalid))

    assert response.status_code == 400, response.text
    assert field in response.json()["detail"]
    assert ecommerce.products(RUN_KEY) == []


def test_a_duplicate_product_is_reported_as_such(ecommerce: Ecommerce) -> None:
    response = ecommerce.publish(body(products=[seat(), seat("99.00")]))

    assert response.status_code == 400
    assert "duplicate Seat of type verified" in response.json()["detail"]


def test_skus_are_stable_across_republication(ecommerce: Ecommerce) -> None:
    first = ecommerce.publish(body())
    assert first.status_code == 201, first.text

    second = ecommerce.publish(body(products=[seat("3100.00"), entitlement("3000.00")]))

    assert second.status_code == 200, second.text
    assert skus(second.json()["products"]) == skus(first.json()["products"])
    stored = ecommerce.products(RUN_KEY)
    assert len(stored) == 2
    assert by_class(stored, "Seat")[0]["price"] == "3100.00"
    assert by_class(stored, "Course Entitlement")[0]["price"] == "3000.00"
    # Another run's seat of the same type is another product, with another SKU.
    other = ecommerce.publish(body(OTHER_RUN_KEY))
    assert other.status_code == 201, other.text
    other_seat = skus(other.json()["products"])[("Seat", "verified")]
    assert other_seat != skus(stored)[("Seat", "verified")]


def test_products_and_skus_survive_a_restart_on_the_same_data_file(tmp_path: Path) -> None:
    data = tmp_path / "products.json"
    first_server = start_server(data, tmp_path / "first.log")
    try:
        first = Ecommerce(first_server.url)
        assert first.publish(body()).status_code == 201
        published = first.products(RUN_KEY)
    finally:
        first_server.stop()

    second_server = start_server(data, tmp_path / "second.log")
    try:
        second = Ecommerce(second_server.url)
        assert second.products(RUN_KEY) == published
        republished = second.publish(body())
        assert republished.status_code == 200, republished.text
        assert skus(republished.json()["products"]) == skus(published)
        assert second.products(RUN_KEY) == published
    finally:
        second_server.stop()


def test_a_counted_fault_fails_exactly_that_many_calls(ecommerce: Ecommerce) -> None:
    ecommerce.fault(status=503, count=2, retry_after=7)

    statuses = []
    for _ in range(4):
        response = ecommerce.publish(body())
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "7"
            assert "injected fault: HTTP 503" in response.json()["detail"]

    assert statuses == [503, 503, 201, 200]


def test_a_fault_without_count_lasts_until_cleared(ecommerce: Ecommerce) -> None:
    ecommerce.fault(status=500)
    assert [ecommerce.publish(body()).status_code for _ in range(3)] == [500, 500, 500]
    assert ecommerce.products(RUN_KEY) == []

    ecommerce.clear_faults()

    assert ecommerce.publish(body()).status_code == 201


def test_a_fault_for_some_runs_spares_the_others(ecommerce: Ecommerce) -> None:
    ecommerce.fault(status=500, run_keys=[OTHER_RUN_KEY])

    assert ecommerce.publish(body(OTHER_RUN_KEY)).status_code == 500
    assert ecommerce.publish(body(RUN_KEY)).status_code == 201


def test_latency_delays_the_answer(ecommerce: Ecommerce) -> None:
    ecommerce.fault(latency_ms=400)

    started = time.monotonic()
    response = ecommerce.publish(body())
    elapsed = time.monotonic() - started

    # A delay alone does not fail the call.
    assert response.status_code == 201, response.text
    assert elapsed >= 0.35

    ecommerce.clear_faults()
    started = time.monotonic()
    assert ecommerce.publish(body()).status_code == 200
    assert time.monotonic() - started < 0.35


def test_the_faults_endpoint_refuses_a_status_that_is_not_an_error(ecommerce: Ecommerce) -> None:
    response = httpx.post(f"{ecommerce.url}/_faults", json={"status": 200}, timeout=5)

    assert response.status_code == 422
    assert ecommerce.publish(body()).status_code == 201
