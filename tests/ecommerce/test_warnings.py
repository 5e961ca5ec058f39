"""Publishing must not emit warnings: this project runs its tests with warnings as errors, and a
deprecated call today is a crash when the library drops it."""

from __future__ import annotations

import warnings

from catalog_gateway.connectors.breaker import Breaker
from catalog_gateway.connectors.ecommerce import EcommerceClient
from tests.ecommerce.server import Ecommerce

RUN_KEY = "course-v1:MITx+DS101+1T2027"


def test_a_publication_with_a_retry_emits_no_deprecation_warning(ecommerce: Ecommerce) -> None:
    ecommerce.fault(status=503, count=1)
    client = EcommerceClient(
        ecommerce.url,
        token=None,
        connect_timeout=1,
        read_timeout=1,
        breaker=Breaker("ecommerce", fail_max=10, reset_timeout=1),
    )
    body = {
        "id": RUN_KEY,
        "uuid": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
        "name": "Data Science for Leaders",
        "verification_deadline": "2027-03-29T23:59:59+00:00",
        "products": [
            {
                "product_class": "Seat",
                "price": "2800.00",
                "expires": None,
                "attribute_values": [
                    {"name": "certificate_type", "value": "verified"},
                    {"name": "id_verification_required", "value": True},
                ],
                "stockrecords": [{"partner_sku": None}],
            }
        ],
    }
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            products = client.publish_course_run(body, budget=3)
    finally:
        client.close()

    assert [(p.product_class, p.certificate_type) for p in products] == [("Seat", "verified")]
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []
