"""Publishing a course run to ecommerce: the body from the catalog's current state, the call,
and the SKUs written back.

The body is built from what the catalog holds *now*, not from the event, so two events for one
product that publish in either order both leave ecommerce with the latest prices; and the same
catalog state always produces the same body, so re-publishing changes nothing.

A seat's pending price (a published run's new price, `catalog.runs.sync_seats`) is the one
sent; once ecommerce accepts it, it becomes the seat's price. Until then learners see the price
checkout knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from catalog_gateway.catalog.models import CourseRun
from catalog_gateway.catalog.reference import ECOMMERCE_CURRENCY
from catalog_gateway.connectors.ecommerce import (
    DownstreamOpenError,
    EcommerceClient,
    EcommerceError,
    EcommerceRejectedError,
    EcommerceTimeoutError,
    PublishedProduct,
)
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ErrorCode
from catalog_gateway.text import counted

SEAT = "Seat"
ENTITLEMENT = "Course Entitlement"
# The publication API prices in US dollars; seats in other currencies are not sent to it.
PUBLICATION_CURRENCY = ECOMMERCE_CURRENCY
ID_VERIFIED_SEAT_TYPES = frozenset({"verified", "professional"})


@dataclass(frozen=True, slots=True)
class PublicationResult:
    """What publishing one run did."""

    products: int
    skus_written: int
    kept: list[str] = field(default_factory=list)  # paid seats not sold through ecommerce
    confirmed: int = 0  # pending prices ecommerce accepted, now the seats' prices

    @property
    def changed(self) -> bool:
        """True if the catalog changed: SKUs stored or prices confirmed."""
        return bool(self.skus_written or self.confirmed)

    @property
    def detail(self) -> str:
        """What the step's trace says."""
        said = (
            f"{counted(self.products, 'product')} published, "
            f"{counted(self.skus_written, 'SKU')} stored"
        )
        if self.confirmed:
            said += f", {counted(self.confirmed, 'new price')} confirmed"
        if self.kept:
            said += (
                f"; only {PUBLICATION_CURRENCY} seats are sold through ecommerce: "
                f"{', '.join(self.kept)} stay in the catalog only"
            )
        return said


class PublicationError(Exception):
    """Publishing a run failed: a code, a message for the integrator, the downstream detail."""

    def __init__(self, code: ErrorCode, message: str, *, retryable: bool, detail: str | None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.detail = detail


class EcommercePublisher:
    """Publishes runs of this catalog to one ecommerce system."""

    def __init__(
        self, database: Database, client: EcommerceClient, paid_seat_types: frozenset[str]
    ):
        self.database = database
        self.client = client
        self.paid_seat_types = paid_seat_types

    def publish_run(self, run_id: int, *, budget: float) -> PublicationResult:
        """Publish the run's paid seats (and its course's entitlement); store the SKUs."""
        with self.database.read() as session:
            run = _load_run(session, run_id)
            body = publication_body(run, self.paid_seat_types)
            key = run.key
            kept = [
                f"the {seat.type} seat in {seat.currency}"
                for seat in sorted(run.seats, key=lambda seat: (seat.type, seat.currency))
                if seat.type in self.paid_seat_types and seat.currency != PUBLICATION_CURRENCY
            ]
        if not body["products"]:  # nothing ecommerce sells: no call
            return PublicationResult(0, 0, kept)
        try:
            products = self.client.publish_course_run(body, budget=budget)
        except EcommerceError as error:
            raise _publication_error(key, error) from error
        try:
            written, confirmed = self._store_results(run_id, products, _sent_prices(body))
        except SQLAlchemyError as error:
            raise PublicationError(
                ErrorCode.CATALOG_WRITE_FAILED,
                f"ecommerce published course run {key}, but the catalog database failed while "
                "storing its SKUs; the run stays unpublished: send the same event again",
                retryable=True,
                detail=type(error).__name__,
            ) from error
        return PublicationResult(len(body["products"]), written, kept, confirmed)

    def _store_results(
        self, run_id: int, products: list[PublishedProduct], sent: dict[str, str]
    ) -> tuple[int, int]:
        """Store the SKUs ecommerce gave, and make each pending price it accepted the seat's
        price (unless another event has changed it since): (SKUs written, prices confirmed)."""
        skus = {
            (product.product_class, product.certificate_type): product.partner_sku
            for product in products
            if product.partner_sku
        }
        written = confirmed = 0
        with self.database.unit_of_work() as session:
            run = _load_run(session, run_id)
            for seat in run.seats:
                if seat.currency != PUBLICATION_CURRENCY:
                    continue
                sku = skus.get((SEAT, seat.type))
                if sku and seat.sku != sku:
                    seat.sku = sku
                    written += 1
                pending = seat.pending_price
                if pending is not None and sent.get(seat.type) == _price_text(pending):
                    seat.price, seat.pending_price = pending, None
                    confirmed += 1
            course = run.course
            sku = skus.get((ENTITLEMENT, course.entitlement_seat_type))
            if sku and course.entitlement_sku != sku:
                course.entitlement_sku = sku
                written += 1
        return written, confirmed


def publication_body(run: CourseRun, paid_seat_types: frozenset[str]) -> dict[str, Any]:
    """The publication API's body for a run, from the catalog's current state."""
    course = run.course
    products: list[dict[str, Any]] = [
        {
            "product_class": SEAT,
            "price": _price_text(
                seat.pending_price if seat.pending_price is not None else seat.price
            ),
            "expires": seat.upgrade_deadline.isoformat() if seat.upgrade_deadline else None,
            "attribute_values": [
                {"name": "certificate_type", "value": seat.type},
                {"name": "id_verification_required", "value": seat.type in ID_VERIFIED_SEAT_TYPES},
            ],
            "stockrecords": [{"partner_sku": seat.sku}],
        }
        for seat in sorted(run.seats, key=lambda seat: seat.type)
        if seat.type in paid_seat_types and seat.currency == PUBLICATION_CURRENCY
    ]
    if (
        course.entitlement_seat_type is not None
        and course.entitlement_price is not None
        and course.entitlement_currency == PUBLICATION_CURRENCY
    ):
        products.append(
            {
                "product_class": ENTITLEMENT,
                "price": f"{course.entitlement_price:.2f}",
                "attribute_values": [
                    {"name": "certificate_type", "value": course.entitlement_seat_type}
                ],
            }
        )
    return {
        "id": run.key,
        "uuid": str(course.uuid),
        "name": course.title,
        "verification_deadline": run.end.isoformat(),
        "products": products,
    }


def _price_text(price: Decimal) -> str:
    return f"{price:.2f}"


def _sent_prices(body: dict[str, Any]) -> dict[str, str]:
    """Seat type → the price the body offers it at."""
    return {
        attribute["value"]: product["price"]
        for product in body["products"]
        if product["product_class"] == SEAT
        for attribute in product["attribute_values"]
        if attribute["name"] == "certificate_type"
    }


def _load_run(session: Session, run_id: int) -> CourseRun:
    run = session.scalar(
        select(CourseRun)
        .where(CourseRun.id == run_id)
        .options(selectinload(CourseRun.seats), selectinload(CourseRun.course))
    )
    if run is None:
        raise LookupError(f"course run {run_id} vanished before its publication")
    return run


def _publication_error(run_key: str, error: EcommerceError) -> PublicationError:
    status = f" (HTTP {error.status})" if error.status else ""
    if isinstance(error, EcommerceRejectedError):
        return PublicationError(
            ErrorCode.ECOMMERCE_REJECTED,
            f"ecommerce refused course run {run_key}{status}; the catalog kept your data but "
            "the run is not published: correct the product and send it as a new event",
            retryable=False,
            detail=error.detail,
        )
    if isinstance(error, DownstreamOpenError):
        code = ErrorCode.DOWNSTREAM_UNAVAILABLE
        what = "ecommerce is failing, so it was not called"
    elif isinstance(error, EcommerceTimeoutError):
        code, what = ErrorCode.ECOMMERCE_TIMEOUT, "ecommerce did not answer in time"
    else:
        code, what = ErrorCode.ECOMMERCE_UNAVAILABLE, f"ecommerce was unavailable{status}"
    return PublicationError(
        code,
        f"{what} for course run {run_key}; the catalog kept your data and the run stays "
        "unpublished: send the same event again to resume",
        retryable=True,
        detail=error.detail,
    )
