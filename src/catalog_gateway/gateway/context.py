"""What the steps of one event share while it runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from catalog_gateway.catalog.organizations import (
    OrganizationCache,
    OrganizationRef,
    resolve_organization,
)
from catalog_gateway.catalog.state import CatalogState, CourseRow, RunRow
from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.errors import ErrorCode
from catalog_gateway.events.results import Products
from catalog_gateway.gateway.publication import EcommercePublisher
from catalog_gateway.gateway.unchanged import Unchanged
from catalog_gateway.gateway.validation import Finding


@dataclass(slots=True)
class StepContext:
    """The event's facts, the open session of the phase running, and what earlier steps made."""

    source_id: int
    vocabulary: Vocabulary
    occurred_at: datetime
    now: datetime
    publisher: EcommercePublisher | None = None
    external_budget: float = 10.0
    external_deadline: float | None = None
    session: Session | None = None
    # The catalog as this request's events see it (None after the catalog transaction: the
    # publication that follows external steps reads and writes the stored rows).
    state: CatalogState | None = None
    course: CourseRow | None = None
    organizations: OrganizationCache | None = None
    # Set when the event was found unchanged (`gateway.unchanged`): the catalog steps report
    # from it instead of loading and comparing rows.
    unchanged: Unchanged | None = None
    runs: dict[int, RunRow] = field(default_factory=dict)
    kept_runs: set[int] = field(default_factory=set)
    products: Products = field(default_factory=Products)
    warnings: list[Finding] = field(default_factory=list)

    def open(self, session: Session, state: CatalogState | None) -> None:
        """Start a phase on `session` (and, in the catalog transaction, `state`)."""
        self.session = session
        self.state = state

    @property
    def db(self) -> Session:
        """The session of the phase running (steps run only inside a phase)."""
        if self.session is None:
            raise RuntimeError("a step ran outside a phase")
        return self.session

    @property
    def catalog(self) -> CatalogState:
        """The catalog state of the catalog transaction."""
        if self.state is None:
            raise RuntimeError("a catalog step ran outside the catalog transaction")
        return self.state

    def organization(self, code: str) -> OrganizationRef:
        """The organization the source means by `code`."""
        return resolve_organization(self.db, self.source_id, code, self.organizations)

    def keep_newer(self, label: str, path: str | None, step: str) -> str:
        """Note that a part of the event was older than the catalog's data and left alone."""
        message = f"{label} was changed by a later event; this event's older data was not applied"
        self.warnings.append(Finding(ErrorCode.NEWER_DATA_KEPT, message, path, step))
        return message

    def budget_left(self) -> float:
        """Seconds left of the event's budget for external calls (the clock starts at first use)."""
        now = time.monotonic()
        if self.external_deadline is None:
            self.external_deadline = now + self.external_budget
        return max(0.0, self.external_deadline - now)

    def note(self, products: list[str], identity: str) -> None:
        """Add `identity` to a products list once."""
        if identity not in products:
            products.append(identity)
