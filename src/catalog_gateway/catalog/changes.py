"""Upsert results and change detection: an upsert touches nothing when the data is equal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from catalog_gateway.db.base import utcnow
from catalog_gateway.errors import StaleEventError

EntityT = TypeVar("EntityT")


class Modifiable(Protocol):
    """An entity whose `modified` moves when its data really changes."""

    modified: datetime


class EventTracked(Protocol):
    """An entity that remembers the newest event applied to it."""

    last_occurred_at: datetime | None


class Action(StrEnum):
    """What an upsert did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Upserted(Generic[EntityT]):
    """The entity an upsert produced and what it did to it."""

    entity: EntityT
    action: Action


def assign_changed(entity: object, values: Mapping[str, object]) -> bool:
    """Set only the attributes whose value differs; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(entity, name) != value:
            setattr(entity, name, value)
            changed = True
    return changed


def settle(entity: Modifiable, *, created: bool, changed: bool) -> Action:
    """The action for an upsert, moving `modified` only when something really changed."""
    if created:
        return Action.CREATED
    if changed:
        entity.modified = utcnow()
        return Action.UPDATED
    return Action.UNCHANGED


def ensure_not_stale(entity: EventTracked, occurred_at: datetime | None, label: str) -> None:
    """Refuse an event strictly older than the last one applied to the entity."""
    last = entity.last_occurred_at
    if occurred_at is not None and last is not None and occurred_at < last:
        raise StaleEventError(
            f"{label} was last changed by an event of {last.isoformat()}; "
            f"this event of {occurred_at.isoformat()} is older and was not applied"
        )


def note_occurred_at(entity: EventTracked, occurred_at: datetime | None) -> None:
    """Remember the newest event time applied (not a data change: `modified` stays)."""
    if occurred_at is not None and (
        entity.last_occurred_at is None or occurred_at > entity.last_occurred_at
    ):
        entity.last_occurred_at = occurred_at
