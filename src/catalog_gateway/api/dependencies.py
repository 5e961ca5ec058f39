"""Request-scoped dependencies: the database, sessions, the caller, paging parameters."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Annotated

import structlog
from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from catalog_gateway.api.problems import ProblemError
from catalog_gateway.api.single_flight import SingleFlight
from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.auth.keys import USE_NOTED_EVERY, note_use
from catalog_gateway.auth.principal import Principal, principal_for_key
from catalog_gateway.auth.tokens import jwt_configured, looks_like_jwt, principal_for_token
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database, read_again_if_disconnected
from catalog_gateway.errors import ErrorCode
from catalog_gateway.gateway.service import EventGateway
from catalog_gateway.settings import Settings

_log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    """The app's database."""
    database: Database = request.app.state.database
    return database


def read_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A read-only session for the request."""
    with database.read() as session:
        yield session


def principals_of(request: Request) -> PrincipalCache:
    """The app's cache of who each credential stands for."""
    cache: PrincipalCache = request.app.state.principals
    return cache


Lookups = SingleFlight[tuple[str, int], Principal | None]
"""Lookups under way by (credential, the principal cache's generation when they began): an
answer read before a revocation is never kept (`PrincipalCache.put`), nor shared with a request
that came after it."""


def lookups_of(request: Request) -> Lookups:
    """The app's credential lookups under way (one per credential at a time)."""
    lookups: Lookups = request.app.state.lookups
    return lookups


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    database: Annotated[Database, Depends(get_database)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Principal | None:
    """The caller, if a key was sent; a key that was sent but is wrong is a 401.

    A credential seen in the last `auth_cache_seconds` is answered from memory, without a
    trip to the thread pool or the database: a flood of throttled requests costs no I/O.
    The lookup has a session of its own, returned to the pool at once: a request must never
    hold one connection while its handler waits for another (that deadlocks a busy pool).
    """
    if credentials is None:
        return None
    credential = credentials.credentials
    # A token carries its own expiry: it is verified every time, never cached.
    cache = None if _is_token(settings, credential) else principals_of(request)
    known, principal = cache.get(credential) if cache else (False, None)
    if not known:
        # One lookup per credential at a time, however many requests wait for it; a request
        # that comes after a revocation does not join a lookup that began before it.
        generation = cache.generation if cache else 0
        principal = await lookups_of(request).run(
            (credential, generation),
            functools.partial(_looked_up, database, settings, credential),
        )
        if cache:
            cache.put(credential, principal, generation)
    if principal is None:
        raise _unauthorized("the API key (or token) is unknown, revoked or expired")
    return principal


async def _looked_up(database: Database, settings: Settings, credential: str) -> Principal | None:
    """Who `credential` stands for, from the database (on the thread pool)."""
    lookup = functools.partial(_lookup, database, settings, credential)
    return await run_in_threadpool(read_again_if_disconnected, lookup)


def _is_token(settings: Settings, credential: str) -> bool:
    return jwt_configured(settings) and looks_like_jwt(credential)


def _lookup(database: Database, settings: Settings, credential: str) -> Principal | None:
    with database.read() as session:
        if _is_token(settings, credential):
            return principal_for_token(session, credential, settings)
        principal = principal_for_key(session, credential)
    if principal is not None:
        _note_use(database, principal)
    return principal


def _note_use(database: Database, principal: Principal) -> None:
    """Remember when the key was last used (at most once a minute; the principal cache keeps
    this off most requests). Never fails the request: a busy database only delays the note."""
    now = utcnow()
    if principal.last_used is not None and now - principal.last_used < USE_NOTED_EVERY:
        return
    try:
        with database.unit_of_work() as session:
            note_use(session, principal.key_id, now)
    except SQLAlchemyError:
        _log.warning("key_use_not_noted", key_id=principal.key_id)


async def catalog_reader(
    principal: Annotated[Principal | None, Depends(optional_principal)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Principal | None:
    """Anyone may read the catalog, unless the settings require a key."""
    if principal is None and settings.reads_require_key:
        raise _unauthorized(
            "reading the catalog needs an API key: send `Authorization: Bearer <key>`"
        )
    return principal


class PageParams:
    """`cursor` and `limit` query parameters, bounded by the settings."""

    def __init__(
        self,
        settings: Annotated[Settings, Depends(get_settings)],
        cursor: Annotated[
            str | None, Query(description="The `next` value of the previous page.")
        ] = None,
        limit: Annotated[int | None, Query(ge=1, description="Page size.")] = None,
    ) -> None:
        self.cursor = cursor
        if limit is not None and limit > settings.page_size_max:
            raise ProblemError(
                400,
                ErrorCode.INVALID_REQUEST,
                f"limit may be at most {settings.page_size_max}",
            )
        self.limit = limit or settings.page_size_default


SettingsDependency = Annotated[Settings, Depends(get_settings)]
ReadSession = Annotated[Session, Depends(read_session)]
Reader = Annotated[Principal | None, Depends(catalog_reader)]
Paging = Annotated[PageParams, Depends()]


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """Any caller with a live key."""
    if principal is None:
        raise _unauthorized("send an API key: `Authorization: Bearer <key>`")
    return principal


async def require_source(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """A source's key: events come from sources, never from admins."""
    if principal.source_id is None:
        raise ProblemError(
            403,
            ErrorCode.FORBIDDEN,
            "events are sent with a source's key; an admin key cannot send them",
        )
    return principal


async def get_gateway(request: Request) -> EventGateway:
    """The app's event gateway."""
    gateway: EventGateway = request.app.state.gateway
    return gateway


Caller = Annotated[Principal, Depends(require_principal)]
SourceCaller = Annotated[Principal, Depends(require_source)]
Gateway = Annotated[EventGateway, Depends(get_gateway)]


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, ErrorCode.UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})
