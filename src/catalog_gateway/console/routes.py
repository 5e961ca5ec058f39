"""The console's pages: each reads or changes through a service, then renders a template."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from catalog_gateway.api.statuses import http_status
from catalog_gateway.auth.keys import issue_key, revoke_key
from catalog_gateway.auth.revocation import Revocations
from catalog_gateway.catalog.pagination import Page
from catalog_gateway.catalog.queries import CatalogFilter, list_courses, list_degrees
from catalog_gateway.console import pages, queries
from catalog_gateway.console.chart import events_chart, window_start
from catalog_gateway.console.rendering import base_path, event_path, flash, page
from catalog_gateway.console.session import (
    Admin,
    CsrfChecked,
    LoggedIn,
    LoginRefusedError,
    log_in,
    log_out,
    safe_next,
)
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ConflictError, DownstreamUnavailableError
from catalog_gateway.events.log import EventFilter
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventStatus
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.service import EventGateway
from catalog_gateway.observability.logging import log_answer
from catalog_gateway.observability.loop_lag import LoopLagMonitor
from catalog_gateway.observability.metrics import observe_answer, throttled_by_source
from catalog_gateway.sources.service import get_source

router = APIRouter()
# Who did what in the console (never a key, only key ids).
audit = structlog.get_logger("catalog_gateway.console")

CHART_MINUTES = 60
ACTIVITY_MINUTES = 15
EVENTS_PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 255  # an event id has at most 128 characters, a run key 255
CATALOG_PAGE_SIZE = 20

Text = Annotated[str | None, Query()]
ChoiceT = TypeVar("ChoiceT")


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _gateway(request: Request) -> EventGateway:
    gateway: EventGateway = request.app.state.gateway
    return gateway


def _loop_lag(request: Request) -> LoopLagMonitor:
    monitor: LoopLagMonitor = request.app.state.loop_lag
    return monitor


def _redirect(request: Request, path: str) -> RedirectResponse:
    """After a form: see the result with a GET (303), so reloading does not post again."""
    return RedirectResponse(base_path(request) + path, status_code=303)


# --- login --------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: Text = None) -> Response:
    return page(request, "login.html", {"next": next or ""}, logged_in=False)


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    api_key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        with _database(request).read() as session:
            admin = log_in(request, session, api_key)
    except LoginRefusedError as refused:
        audit.warning("console_login_refused", http_status=refused.status)
        return page(
            request,
            "login.html",
            {"next": next, "error": refused.message},
            status_code=refused.status,
            logged_in=False,
        )
    audit.info("console_login", key_id=admin.key_id)
    base = base_path(request)
    return RedirectResponse(safe_next(next, base), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    log_out(request)
    return _redirect(request, "/login")


# --- dashboard ----------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, _admin: LoggedIn) -> Response:
    start = window_start(utcnow(), CHART_MINUTES)
    with _database(request).read() as session:
        counts = queries.events_per_minute(session, start)
        waiting = queries.failed_retryable_count(session)
        stuck = queries.stuck_count(session, utcnow() - _gateway(request).lease)
    return page(
        request,
        "dashboard.html",
        {
            "chart": events_chart(counts, start, CHART_MINUTES),
            "minutes": CHART_MINUTES,
            "waiting": waiting,
            "stuck": stuck,
            "downstream": pages.downstream_state(_gateway(request)),
            "loop_lag": _loop_lag(request).summary(),
        },
        section="dashboard",
    )


# --- events -------------------------------------------------------------------------------


@router.get("/events")
def events(
    request: Request,
    _admin: LoggedIn,
    source: Text = None,
    status: Text = None,
    event_type: Text = None,
    since: Text = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with _database(request).read() as session:
        sources = queries.source_slugs(session)
        filters = EventFilter(
            source_id=_choice(source, {slug: id_ for id_, slug in sources}, "source"),
            status=_choice(status, {s.value: s.value for s in EventStatus}, "status"),
            event_type=_choice(event_type, {t.value: t.value for t in EventType}, "event type"),
            since=_since(since),
        )
        result = queries.newest_events(session, filters, before=before, limit=EVENTS_PAGE_SIZE)
        chosen = {"source": source, "status": status, "event_type": event_type, "since": since}
        # Rendered inside the read: the records load nothing more once it ends.
        return page(
            request,
            "events.html",
            {
                "page": result,
                "filters": {name: value for name, value in chosen.items() if value},
                "sources": [slug for _, slug in sources],
                "statuses": [s.value for s in EventStatus],
                "event_types": [t.value for t in EventType],
                "first_page": before is None,
            },
            section="events",
        )


@router.get("/search")
def search(
    request: Request,
    _admin: LoggedIn,
    q: Annotated[str, Query(max_length=SEARCH_MAX_LENGTH)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Events by id (in every source), and those that name a course or run key."""
    text = q.strip()
    with _database(request).read() as session:
        found = (
            queries.search_events(session, text, before=before, limit=SEARCH_PAGE_SIZE)
            if text
            else None
        )
        return page(
            request,
            "search.html",
            {"search": found, "search_text": text, "first_page": before is None},
            section="events",
        )


@router.get("/events/{source}/{event_id:path}")
def event(request: Request, _admin: LoggedIn, source: str, event_id: str) -> Response:
    with _database(request).read() as session:
        record = queries.event_by_key(session, source, event_id)
        if record is None:
            raise HTTPException(404, _no_event(session, source, event_id))
        return _event_page(request, record)


@router.get("/events/{record_id:int}")
def event_by_record_id(request: Request, _admin: LoggedIn, record_id: int) -> Response:
    """The page's former address (the record's row id): sent on to its address by key."""
    with _database(request).read() as session:
        record = queries.event_record(session, record_id)
        if record is None:
            raise HTTPException(404, f"There is no event {record_id}.")
        path = event_path(record)
        if path == f"/events/{record_id}":  # an id a browser cannot have in a path
            return _event_page(request, record)
    return RedirectResponse(base_path(request) + path, status_code=301)


def _event_page(request: Request, record: EventRecord) -> Response:
    # Rendered inside the read: the record loads nothing more once it ends.
    detail = pages.event_detail(record)
    return page(request, "event.html", {"detail": detail}, section="events")


def _no_event(session: Session, slug: str, event_id: str) -> str:
    """Why there is no event `event_id` of `slug`: no such source, or no such event."""
    if not any(known == slug for _, known in queries.source_slugs(session)):
        return f"There is no source {slug!r}."
    return f"Source {slug} has no event {event_id!r}."


@router.post("/events/{source}/{event_id:path}/replay", dependencies=[CsrfChecked])
def replay(request: Request, admin: LoggedIn, source: str, event_id: str) -> Response:
    with _database(request).read() as session:
        record = queries.event_by_key(session, source, event_id)
        if record is None:
            raise HTTPException(404, _no_event(session, source, event_id))
        source_id, path = record.source_id, event_path(record)
    return _replay(request, admin, source_id, path, event_id)


@router.post("/events/{record_id:int}/replay", dependencies=[CsrfChecked])
def replay_by_record_id(request: Request, admin: LoggedIn, record_id: int) -> Response:
    """The replay form's former address (a page loaded before the change posts there)."""
    with _database(request).read() as session:
        record = queries.event_record(session, record_id)
        if record is None:
            raise HTTPException(404, f"There is no event {record_id}.")
        source_id, path, event_id = record.source_id, event_path(record), record.event_id
    return _replay(request, admin, source_id, path, event_id)


def _replay(request: Request, admin: Admin, source_id: int, path: str, event_id: str) -> Response:
    """Run the stored event again, then show its page with what happened."""
    gateway = _gateway(request)
    profile = gateway.profile(source_id)
    if profile is None:
        raise HTTPException(404, f"There is no event {event_id!r}.")
    try:
        handled = gateway.replay(profile, event_id)
    except ConflictError as error:
        flash(request, "error", f"Not replayed: {error.message}")
    except DownstreamUnavailableError as error:
        flash(
            request,
            "error",
            f"Not replayed: {error.message}. Try again in {error.retry_after} s.",
        )
    else:
        answer = handled.answer
        observe_answer(answer, source=answer.source)
        log_answer(answer, http_status(answer))
        audit.info(
            "console_replay",
            key_id=admin.key_id,
            source=profile.slug,
            event_id=event_id,
            status=answer.status.value,
        )
        kind = "success" if answer.status in pages.SUCCESSES else "error"
        flash(request, kind, f"Replayed: the event is now {answer.status.value}.")
    return _redirect(request, path)


# --- sources and keys ---------------------------------------------------------------------


@router.get("/sources")
def sources(request: Request, _admin: LoggedIn) -> Response:
    since = utcnow() - timedelta(minutes=ACTIVITY_MINUTES)
    with _database(request).read() as session:
        activity = queries.source_activity(session, since)
        return page(
            request,
            "sources.html",
            {
                "sources": activity,
                "minutes": ACTIVITY_MINUTES,
                "throttled": throttled_by_source(),
                "cache_seconds": request.app.state.settings.auth_cache_seconds,
                "revocations_shared": request.app.state.settings.redis_url is not None,
            },
            section="sources",
        )


@router.post("/sources/{slug}/keys", dependencies=[CsrfChecked])
def create_key(request: Request, admin: LoggedIn, slug: str) -> Response:
    with _database(request).unit_of_work() as session:
        source = get_source(session, slug)
        issued = issue_key(session, source=source)
    audit.info("console_key_created", key_id=admin.key_id, new_key_id=issued.id, source=slug)
    return page(
        request,
        "key_created.html",
        {"slug": slug, "issued": issued},
        section="sources",
        status_code=201,
    )


@router.post("/keys/{key_id}/revoke", dependencies=[CsrfChecked])
def revoke(request: Request, admin: LoggedIn, key_id: str) -> Response:
    with _database(request).unit_of_work() as session:
        key = revoke_key(session, key_id)
        owner = key.source.slug if key.source else "admin"
        revoked_id = key.id
    # Committed: every server process can be told (this one evicts it at once in any case).
    revocations: Revocations = request.app.state.revocations
    revocations.announce(revoked_id)
    audit.info("console_key_revoked", key_id=admin.key_id, revoked_key_id=key_id, owner=owner)
    flash(request, "success", f"Key {key_id} of {owner} is revoked.")
    return _redirect(request, "/sources")


# --- catalog ------------------------------------------------------------------------------


@router.get("/catalog")
def courses(
    request: Request, _admin: LoggedIn, source: Text = None, cursor: Text = None
) -> Response:
    return _catalog_page(request, "courses", list_courses, source, cursor)


@router.get("/catalog/degrees")
def degrees(
    request: Request, _admin: LoggedIn, source: Text = None, cursor: Text = None
) -> Response:
    return _catalog_page(request, "degrees", list_degrees, source, cursor)


def _catalog_page(
    request: Request,
    tab: str,
    list_page: Callable[..., Page[Any]],
    source: str | None,
    cursor: str | None,
) -> Response:
    """A page of courses or degrees (`list_page`), filtered by source."""
    with _database(request).read() as session:
        result = list_page(
            session,
            CatalogFilter(source=source or None),
            cursor=cursor or None,
            limit=CATALOG_PAGE_SIZE,
        )
        return page(
            request,
            f"{tab}.html",
            {
                "page": result,
                "source": source or "",
                "sources": [slug for _, slug in queries.source_slugs(session)],
                "tab": tab,
            },
            section="catalog",
        )


def _choice(value: str | None, choices: Mapping[str, ChoiceT], name: str) -> ChoiceT | None:
    """A filter's value from its choices; empty means any; anything else is a 400."""
    if not value:
        return None
    if value not in choices:
        raise HTTPException(400, f"There is no {name} {value!r}.")
    return choices[value]


def _since(value: str | None) -> datetime | None:
    """A `datetime-local` value (or ISO 8601), read as UTC when it names no zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{value!r} is not a date and time.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
