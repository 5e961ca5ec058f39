"""Logging in to the console: only admin keys, a hardened session cookie, and CSRF tokens on
every form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.auth.keys import revoke_key
from catalog_gateway.auth.models import ApiKey
from catalog_gateway.console import session
from catalog_gateway.console.session import SESSION_COOKIE
from catalog_gateway.db.engine import Database
from tests.console.conftest import Browser, console_settings
from tests.factories import bearer

PAGES = ["/", "/events", "/events/1", "/sources", "/catalog", "/catalog/degrees"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_visitor_who_is_not_logged_in_to_the_login_page(
    browser: Browser, path: str
) -> None:
    response = browser.get(path)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=%2Fconsole")


def test_the_console_address_leads_to_the_login_form(browser: Browser) -> None:
    response = browser.client.get("/console")

    assert response.status_code == 200
    assert response.url.path == "/console/login"
    assert 'id="api_key"' in response.text
    assert '<label for="api_key">Admin API key</label>' in response.text


def test_an_admin_key_logs_in_and_lands_on_the_page_it_asked_for(browser: Browser) -> None:
    response = browser.log_in(next_page="/console/sources")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/sources"
    page = browser.get("/sources")
    assert page.status_code == 200
    assert "<h1>Sources</h1>" in page.text


def test_a_wrong_key_is_refused_and_logs_nobody_in(browser: Browser) -> None:
    response = browser.log_in("cgw_not-a-key-anyone-was-given")

    assert response.status_code == 401
    assert "That key is unknown or has been revoked." in response.text
    assert browser.get("/").status_code == 303


def test_a_sources_key_cannot_log_in(browser: Browser) -> None:
    response = browser.log_in(browser.keys.exec_ed)

    assert response.status_code == 403
    assert "That is a source&#39;s key" in response.text
    assert browser.get("/").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console/", "/api/v1"])
def test_after_login_the_console_never_sends_the_visitor_elsewhere(
    browser: Browser, target: str
) -> None:
    response = browser.log_in(next_page=target)

    assert response.status_code == 303
    assert response.headers["location"] == "/console/"


def test_the_session_cookie_is_http_only_same_site_strict_and_scoped_to_the_console(
    browser: Browser,
) -> None:
    response = browser.log_in()

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags
    assert browser.keys.admin not in cookie


def test_the_cookie_is_secure_when_the_setting_asks(database: Database, browser: Browser) -> None:
    app = create_app(console_settings(database, console_secure_cookies=True), database)
    with TestClient(app, base_url="https://testserver") as client:
        secure = Browser(client, browser.keys)
        cookie = secure.log_in().headers["set-cookie"]

    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    admin: Browser, database: Database
) -> None:
    keys_before = _key_count(database)

    missing = admin.post("/sources/exec-ed/keys")
    forged = admin.post("/sources/exec-ed/keys", {"csrf_token": "forged"})

    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "did not come from this console" in missing.text
    assert _key_count(database) == keys_before


def test_logging_in_needs_the_token_of_the_login_form(browser: Browser) -> None:
    response = browser.post("/login", {"api_key": browser.keys.admin})

    assert response.status_code == 403
    assert browser.get("/").status_code == 303


def test_logging_in_gives_a_new_csrf_token(browser: Browser) -> None:
    before = browser.csrf("/login")
    browser.log_in()

    assert browser.csrf("/") != before


def test_logging_out_ends_the_session(admin: Browser) -> None:
    response = admin.submit("/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert admin.get("/").status_code == 303


def test_a_login_ends_when_its_time_is_up_however_fresh_the_cookie(
    admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert session.SESSION_MAX_AGE_SECONDS == 8 * 60 * 60
    assert admin.get("/").status_code == 200
    # The cookie stays valid (its signature's age is checked separately); the login is over.
    monkeypatch.setattr(session, "SESSION_MAX_AGE_SECONDS", 0)

    assert admin.get("/").status_code == 303


def test_revoking_the_admin_key_ends_the_sessions_it_opened(
    admin: Browser, database: Database
) -> None:
    assert admin.get("/").status_code == 200
    with database.unit_of_work() as session:
        revoke_key(session, admin.keys.admin)

    response = admin.get("/")

    assert response.status_code == 303
    assert admin.client.get("/api/v1/events", headers=bearer(admin.keys.admin)).status_code == 401


def test_pages_may_not_be_framed_cached_or_run_inline_scripts(admin: Browser) -> None:
    headers = admin.get("/").headers

    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def _key_count(database: Database) -> int:
    with database.read() as session:
        return session.query(ApiKey).count()
