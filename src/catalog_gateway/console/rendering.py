"""Templates, their filters, and what every page is given (paths, CSRF token, messages)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from catalog_gateway.api.statuses import status_of
from catalog_gateway.console import jsonview
from catalog_gateway.console.session import CSRF_FIELD, csrf_token
from catalog_gateway.db.base import utcnow
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventStatus
from catalog_gateway.text import counted

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

NAVIGATION = (
    ("dashboard", "Dashboard", "/"),
    ("events", "Events", "/events"),
    ("sources", "Sources", "/sources"),
    ("catalog", "Catalog", "/catalog"),
)

_FLASHES = "flashes"


def when(value: datetime | None) -> str:
    """A moment as operators read it: `2026-11-28 10:00:03 UTC`."""
    if value is None:
        return "never"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: datetime | None) -> str:
    """How long ago, roughly: `42 s ago`, `5 min ago`, `3 h ago`, `2 days ago`."""
    if value is None:
        return "never"
    seconds = max(0, int((utcnow() - value).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{counted(seconds // 86400, 'day')} ago"


def milliseconds(value: float | None) -> str:
    """A duration: `0.31 ms`, `12.4 ms`, `1.52 s`."""
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def sent_with(record: EventRecord) -> int | None:
    """The HTTP status a stored answer is sent with, as the API maps it (None while the event
    is in progress)."""
    if record.status == EventStatus.IN_PROGRESS.value:
        return None
    codes = {str(error.get("code")) for error in record.errors or []}
    return status_of(EventStatus(record.status), codes)


def event_path(record: EventRecord) -> str:
    """The console path of an event's page, by its key: `/events/<source>/<event id>` (the id
    percent-encoded, `/` included). An id that is only dots, which a browser would read as a
    relative path, keeps the record's own path (`/events/<record id>`)."""
    if record.event_id in {".", ".."}:
        return f"/events/{record.id}"
    return f"/events/{record.source.slug}/{quote(record.event_id, safe='')}"


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters.update(
    when=when, ago=ago, ms=milliseconds, http_status=sent_with, counted=counted
)
templates.env.globals.update(csrf_field=CSRF_FIELD, anchor=jsonview.anchor, event_path=event_path)


def base_path(request: Request) -> str:
    """Where the console is mounted, as the browser sees it (e.g. `/console`)."""
    root: str = request.scope.get("root_path", "")
    return root


def flash(request: Request, kind: str, text: str) -> None:
    """A message for the next page shown to this session (`success` or `error`)."""
    request.session.setdefault(_FLASHES, []).append({"kind": kind, "text": text})
    # Starlette's session notices assignments, not changes inside a value.
    request.session[_FLASHES] = request.session[_FLASHES]


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str | None = None,
    status_code: int = 200,
    logged_in: bool = True,
) -> Response:
    """A console page; logged-in pages carry the navigation and the logout form."""
    base = base_path(request)
    common: dict[str, Any] = {
        "base": base,
        "section": section,
        "logged_in": logged_in,
        "navigation": [(key, label, base + path) for key, label, path in NAVIGATION],
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop(_FLASHES, []),
    }
    return templates.TemplateResponse(
        request, template, common | (context or {}), status_code=status_code
    )
