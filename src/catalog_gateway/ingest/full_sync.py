"""`--full-sync`: retire the source's products that the file no longer contains.

The file is the source's whole catalog. After every event of it succeeded, the source's
published courses (or degrees) are listed and those the file's events did not touch are retired
with `product.retire` events in the canonical shape every transformer accepts.

Which products the file holds is taken from the gateway's answers (`products.courses`,
`products.degrees`: course keys and degree slugs), never guessed from the raw payloads, whose
shape belongs to the source's transformer. A dry run's answers name no products, so its preview
matches the targets of the planned `course.upsert` / `degree.upsert` steps (external ids or
keys, slugs) instead: an estimate, and nothing is retired.

Safety: one event that did not succeed (rejected, failed, stale, conflict, no answer) means the
picture is partial, so nothing is retired: a product missing only because its event failed
would be taken off the catalog.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.answers import DRY_RUN_SUCCESS, SUCCESS
from catalog_gateway.ingest.client import GatewayClient, ProductKind
from catalog_gateway.ingest.identity import Event, content_event_id
from catalog_gateway.ingest.readers import SourceRecord
from catalog_gateway.ingest.sender import Delivery

KINDS_BY_EVENT_TYPE: dict[EventType, ProductKind] = {
    EventType.PRODUCT_UPSERT: "courses",
    EventType.COURSE_UPSERT: "courses",
    EventType.DEGREE_UPSERT: "degrees",
}
_PLANNED_TARGETS = {"course.upsert": "course:", "degree.upsert": "degree:"}


@dataclass(frozen=True, slots=True)
class Product:
    """A product of the source, as the catalog lists it."""

    kind: ProductKind
    label: str  # course key or degree slug
    external_id: str

    def retire_payload(self) -> dict[str, Any]:
        """The canonical `product.retire` payload."""
        name = "course" if self.kind == "courses" else "degree"
        return {name: {"external_id": self.external_id}}


@dataclass(frozen=True, slots=True)
class Retirement:
    """What a full sync retires, or why it retires nothing."""

    products: list[Product]
    refused: str | None = None


def kinds_in(events: list[Event]) -> set[ProductKind]:
    """The kinds of product the file's events describe (a full sync lists those)."""
    return {
        KINDS_BY_EVENT_TYPE[e.event_type] for e in events if e.event_type in KINDS_BY_EVENT_TYPE
    }


async def plan_retirement(
    client: GatewayClient, source: str, deliveries: list[Delivery], *, dry_run: bool
) -> Retirement:
    """The products to retire; none, with the reason, unless every event succeeded."""
    refused = _refusal(deliveries, dry_run=dry_run)
    if refused:
        return Retirement([], refused)
    held = _products_held(deliveries, dry_run=dry_run)
    missing: list[Product] = []
    for kind in sorted(kinds_in([d.event for d in deliveries])):
        for listed in await client.list_products(kind, source):
            product = _product(kind, listed)
            names = {product.label, product.external_id} if dry_run else {product.label}
            if not names & held:
                missing.append(product)
    # By kind and label, whatever order the catalog lists them in.
    return Retirement(sorted(missing, key=lambda product: (product.kind, product.label)))


def retire_events(products: list[Product], source: str, occurred_at: datetime) -> list[Event]:
    """One canonical `product.retire` event per product, at the file's time."""
    events = []
    for product in products:
        payload = product.retire_payload()
        record = SourceRecord(
            payload=payload,
            event_type=EventType.PRODUCT_RETIRE,
            where=f"full sync: {product.label}",
        )
        event_id = content_event_id(source, EventType.PRODUCT_RETIRE, occurred_at, payload)
        events.append(Event(event_id, EventType.PRODUCT_RETIRE, occurred_at, payload, (record,)))
    return events


def _refusal(deliveries: list[Delivery], *, dry_run: bool) -> str | None:
    good = DRY_RUN_SUCCESS if dry_run else SUCCESS
    statuses = Counter(d.reply.status for d in deliveries if d.reply and d.reply.status not in good)
    if not statuses:
        return None
    counts = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    return (
        f"{statuses.total()} of {len(deliveries)} events did not succeed ({counts}); retiring "
        "on a partial picture would take products off the catalog only because their events "
        "failed. Fix them and run the full sync again."
    )


def _products_held(deliveries: list[Delivery], *, dry_run: bool) -> set[str]:
    """Course keys and degree slugs the file's upserts touched (dry run: planned targets)."""
    held: set[str] = set()
    for delivery in deliveries:
        answer = delivery.reply.answer if delivery.reply else None
        if answer is None or delivery.event.event_type not in KINDS_BY_EVENT_TYPE:
            continue
        if not dry_run:
            held.update(answer.products.courses, answer.products.degrees)
            continue
        for step in answer.steps:
            prefix = _PLANNED_TARGETS.get(step.name)
            if prefix and step.target and step.target.startswith(prefix):
                held.add(step.target.removeprefix(prefix))
    return held


def _product(kind: ProductKind, listed: dict[str, Any]) -> Product:
    label = listed["key"] if kind == "courses" else listed["marketing_slug"]
    return Product(kind=kind, label=str(label), external_id=str(listed["external_id"]))
