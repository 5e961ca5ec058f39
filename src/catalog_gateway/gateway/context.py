"""What the steps of one event share while it runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from catalog_gateway.catalog.models import Course, CourseRun
from catalog_gateway.catalog.organizations import OrganizationCache
from catalog_gateway.catalog.prefetch import Prefetched
from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.errors import ErrorCode
from catalog_gateway.events.results import Products
from catalog_gateway.gateway.publication import EcommercePublisher
from catalog_gateway.gateway.unchanged import LoadedRun, Unchanged
from catalog_gateway.gateway.validation import Finding
from catalog_gateway.sources.models import Source


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
    source: Source | None = None
    course: Course | None = None
    prefetched: Prefetched | None = None
    organizations: OrganizationCache | None = None
    # Set when the event was found unchanged (`gateway.unchanged`): the catalog steps report
    # from it instead of loading and comparing rows.
    unchanged: Unchanged | None = None
    runs: dict[int, CourseRun | LoadedRun] = field(default_factory=dict)
    kept_runs: set[int] = field(default_factory=set)
    products: Products = field(default_factory=Products)
    warnings: list[Finding] = field(default_factory=list)

    def open(self, session: Session) -> None:
        """Start a phase on `session`."""
        self.session = session
        self.source = None  # loaded by the first step that needs it (`owner`)

    @property
    def db(self) -> Session:
        """The session of the phase running (steps run only inside a phase)."""
        if self.session is None:
            raise RuntimeError("a step ran outside a phase")
        return self.session

    @property
    def owner(self) -> Source:
        """The source sending the event, in the phase's session."""
        if self.source is None:
            self.source = self.db.get(Source, self.source_id)
        if self.source is None:
            raise RuntimeError(f"source {self.source_id} is gone")
        return self.source

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
