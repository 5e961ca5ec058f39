"""The step trace: what ran, in order, how long it took, and what it did."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from catalog_gateway.events.results import StepRecord, StepStatus, System


@dataclass(slots=True)
class StepSpec:
    """A step of a plan, before it runs: its name, system and (provisional) target."""

    name: str
    system: System
    target: str | None


@dataclass(slots=True)
class Outcome:
    """What a step did: filled in by the step while it runs."""

    action: str | None = None
    target: str | None = None
    detail: str | None = None
    status: StepStatus = StepStatus.OK


@dataclass(slots=True)
class Trace:
    """Records steps as they run; a failure leaves the rest of the plan `skipped`.

    A step's target is provisional until a step finds what it names (a run's label from the
    source's external id becomes `course_run:<run key>`): a step recorded without running
    (`skipped`) is then named as the steps that ran, not by its provisional label."""

    steps: list[StepRecord] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)  # provisional target → the one found

    @contextmanager
    def step(self, spec: StepSpec) -> Iterator[Outcome]:
        """Time the block as the step `spec`; an exception marks it failed and propagates."""
        outcome = Outcome(target=spec.target)
        started = time.perf_counter()
        try:
            yield outcome
        except BaseException:
            self._record(spec, outcome, started, StepStatus.FAILED)
            raise
        self._record(spec, outcome, started, outcome.status)

    def add(self, spec: StepSpec, status: StepStatus, detail: str | None = None) -> None:
        """Record a step that did not run (`skipped`, `planned`)."""
        self.steps.append(
            StepRecord(
                name=spec.name,
                status=status,
                target=self.found.get(spec.target, spec.target) if spec.target else None,
                system=spec.system,
                detail=detail,
            )
        )

    def skip_all(self, specs: list[StepSpec], detail: str) -> None:
        """Record each of `specs` as skipped."""
        for spec in specs:
            self.add(spec, StepStatus.SKIPPED, detail)

    def annotate_rolled_back(self, names: set[str], cause: str) -> None:
        """Mark the steps named `names` that a rollback undid (`cause`: why it happened)."""
        for record in self.steps:
            if record.name in names and record.status is StepStatus.OK:
                record.detail = f"rolled back: {cause}"

    def _record(self, spec: StepSpec, outcome: Outcome, started: float, status: StepStatus) -> None:
        if spec.target and outcome.target and outcome.target != spec.target:
            self.found[spec.target] = outcome.target
        self.steps.append(
            StepRecord(
                name=spec.name,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                target=outcome.target,
                action=outcome.action,
                system=spec.system,
                detail=outcome.detail,
            )
        )
