"""Who is logged in to the console, and the CSRF token that every form must carry.

The session is a signed cookie (Starlette's `SessionMiddleware`, itsdangerous): it holds the id
of the admin key that logged in and a random CSRF token, never the key itself. Each request
checks that key again, so revoking it ends every console session that used it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session

from catalog_gateway.auth.keys import authenticate
from catalog_gateway.auth.models import ApiKey
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings

SESSION_COOKIE = "catalog_gateway_console"
SESSION_MAX_AGE_SECONDS = 8 * 60 * 60
CSRF_FIELD = "csrf_token"

_KEY_ID = "key_id"
_SINCE = "since"
_CSRF = "csrf"


class LoginRequiredError(Exception):
    """The page needs a logged-in admin; the visitor is sent to the login page."""


class CsrfError(Exception):
    """A form arrived without the session's CSRF token."""


class LoginRefusedError(Exception):
    """The key given at login is not a live admin key."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Admin:
    """The logged-in operator: the admin key they logged in with (by id)."""

    key_id: str


def session_secret(settings: Settings) -> str:
    """The cookie-signing key: the configured one, or a random one for this process only."""
    if settings.console_session_secret is not None:
        return settings.console_session_secret.get_secret_value()
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    session: dict[str, Any] = request.session
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


def check_csrf(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> None:
    """Dependency of every POST: the form's token must be the session's (else 403)."""
    expected = request.session.get(_CSRF)
    if (
        not isinstance(expected, str)
        or csrf_token is None
        or not hmac.compare_digest(csrf_token.encode(), expected.encode())
    ):
        raise CsrfError


def log_in(request: Request, session: Session, api_key: str) -> Admin:
    """Start a session for a live admin key; anything else is refused."""
    stored = authenticate(session, api_key.strip())
    if stored is None:
        raise LoginRefusedError("That key is unknown or has been revoked.", status=401)
    if not stored.is_admin:
        raise LoginRefusedError(
            "That is a source's key. The console needs an admin key "
            "(catalog-gateway keys create --admin).",
            status=403,
        )
    # A new session (and CSRF token) at login: a token planted before it is worthless after.
    request.session.clear()
    request.session[_KEY_ID] = stored.id
    request.session[_SINCE] = int(time.time())
    csrf_token(request)
    return Admin(stored.id)


def log_out(request: Request) -> None:
    """End the session (the cookie is cleared on the answer)."""
    request.session.clear()


def has_login(request: Request) -> bool:
    """True when the session says someone logged in (not checked against the database)."""
    return isinstance(request.session.get(_KEY_ID), str)


def current_admin(request: Request) -> Admin:
    """Dependency of every page but the login: the logged-in admin, whose key is still live."""
    key_id = request.session.get(_KEY_ID)
    since = request.session.get(_SINCE)
    if not isinstance(key_id, str):
        raise LoginRequiredError
    # The cookie's own age restarts whenever the session changes; a login's does not.
    if not isinstance(since, int) or _expired(since):
        request.session.clear()
        raise LoginRequiredError
    database: Database = request.app.state.database
    with database.read() as session:
        key = session.get(ApiKey, key_id)
        live = key is not None and key.is_admin and key.revoked is None
    if not live:
        request.session.clear()
        raise LoginRequiredError
    return Admin(key_id)


def _expired(since: int) -> bool:
    return time.time() - since > SESSION_MAX_AGE_SECONDS


def safe_next(target: str | None, base: str) -> str:
    """Where to go after login: a console page of this site, never another site."""
    default = base + "/"
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not target.startswith(base + "/"):
        return default
    return target


LoggedIn = Annotated[Admin, Depends(current_admin)]
CsrfChecked = Depends(check_csrf)
