"""The state of one transform: the payload root, the scope being mapped, and what was found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.events.results import EventIssue
from catalog_gateway.transformers.base import Provenance

STEP = "transform"


@dataclass(frozen=True, slots=True)
class Scope:
    """The object paths are relative to: the payload, or one item of an enclosing `each`.

    `origins` are the `each` paths (as written) the item came through, for `when_in`.
    """

    item: Any
    pointer: str
    origins: tuple[str, ...] = ()


@dataclass(slots=True)
class Run:
    """Provenance, errors and warnings collected while one payload is mapped."""

    root: Any
    provenance: Provenance = field(default_factory=Provenance)
    errors: list[EventIssue] = field(default_factory=list)
    warnings: list[EventIssue] = field(default_factory=list)

    def report(
        self,
        as_error: bool,
        code: ErrorCode,
        message: str,
        path: str | None,
        source_path: str | None,
    ) -> None:
        """Add an error (`as_error`) or a warning of the transform step."""
        issue = EventIssue(
            code=code, message=message, step=STEP, path=path, source_path=source_path
        )
        (self.errors if as_error else self.warnings).append(issue)
