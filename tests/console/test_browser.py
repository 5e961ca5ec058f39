"""The console driven in real headless Chromium (Debian's `/usr/bin/chromium`, through
Playwright): an operator logs in, finds the event that failed while ecommerce was down, sees
where it failed, and replays it once ecommerce is back; an operator finds events by id or by a
run's key and follows them. Screenshots of the main pages are saved to build/screenshots/.

The service runs in a real uvicorn server on the loopback interface, talking to the reference
ecommerce server in its own process. The flow runs on SQLite only: what it checks is the
browser's side; every page's queries run on both backends in test_pages.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from tests.console.conftest import (
    ConsoleKeys,
    bootcamp_event,
    console_settings,
    degree_event,
    exec_ed_event,
)
from tests.ecommerce.server import Ecommerce
from tests.gateway.conftest import bearer, served

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
BAD_CARD_URL = "aHR0cHM6Ly9pbWFnZXM*invalid"
# A course description with a script, which the gateway removes (an `html_sanitized` warning).
SCRIPTED_DESCRIPTION = "<p>Ship code every week.</p><script>track()</script>"
# An event id with characters that mean something in a URL (and a `%`, which a server decodes).
ODD_ID = "dsl/50%?off#now"

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def live_url(database: Database, console_keys: ConsoleKeys, ecommerce: Ecommerce) -> Iterator[str]:
    """The service on a real uvicorn server, publishing to the reference ecommerce server
    (a small budget, so a failing event fails fast; a breaker that stays closed)."""
    settings = console_settings(
        database,
        ecommerce_url=ecommerce.url,
        ecommerce_budget_seconds=2,
        ecommerce_connect_timeout=1,
        ecommerce_read_timeout=1,
        ecommerce_breaker_failures=1000,
    )
    with served(create_app(settings, database)) as url:
        yield url


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser tab at 1280x800 (a laptop screen) that records console errors."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    tab.on("console", record)
    yield tab
    context.close()
    # A content-security-policy violation (an inline style or script) is a console error.
    assert errors == []


def send(url: str, key: str, event: dict[str, Any], expected: int) -> None:
    """A LoB sends an event; it is answered with `expected`."""
    response = httpx.post(f"{url}/api/v1/events", json=event, headers=bearer(key), timeout=30)
    assert response.status_code == expected, response.text


def screenshot(page: Page, name: str) -> None:
    """Save the whole page to build/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_operator_finds_the_failed_event_sees_why_and_replays_it_once_ecommerce_is_back(
    page: Page, live_url: str, console_keys: ConsoleKeys, ecommerce: Ecommerce
) -> None:
    keys = console_keys
    send(live_url, keys.bootcamps, bootcamp_event("bc-1"), 200)
    send(live_url, keys.bootcamps, degree_event("deg-1"), 200)
    send(live_url, keys.exec_ed, exec_ed_event("dsl-bad-card", cardUrl=BAD_CARD_URL), 422)
    # Exec-ed sells its products itself: no ecommerce call, so ecommerce's fault spares it.
    send(live_url, keys.exec_ed, exec_ed_event("dsl-2027", effort="Flexible"), 200)
    ecommerce.fault(status=500)
    send(live_url, keys.bootcamps, bootcamp_event("bc-2", SCRIPTED_DESCRIPTION, "CODE200"), 502)

    # Not logged in: the console sends the operator to the login form.
    page.goto(f"{live_url}/console")
    expect(page).to_have_url(f"{live_url}/console/login?next=%2Fconsole%2F")
    screenshot(page, "login")
    page.get_by_label("Admin API key").fill(keys.admin)
    page.keyboard.press("Enter")

    # The dashboard: the last hour's events and the ecommerce breaker.
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator("#breaker .badge")).to_have_text("closed")
    expect(page.locator("svg rect.bar.s-failed")).to_have_count(1)
    expect(page.get_by_role("img")).to_have_accessible_name(
        "Events per minute over the last 60 minutes: 3 applied, 1 rejected, 1 failed; "
        "at most 5 in one minute."
    )
    screenshot(page, "dashboard")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()

    # Events, newest first, then only the failed ones.
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Events").click()
    expect(page.locator("tbody tr[data-event]")).to_have_count(5)
    expect(page.locator("tbody tr[data-event]").first).to_have_attribute("data-event", "bc-2")
    screenshot(page, "events")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{live_url}/console/events?source=&event_type=&status=failed&since=")
    expect(page.locator("tbody tr[data-event]")).to_have_count(1)

    # The failed event: the ecommerce step is highlighted, and so is the field of the LoB's
    # payload that a warning is about (its script was removed); the canonical payload is beside
    # it.
    page.get_by_role("link", name="bc-2").click()
    failed_step = page.locator("li.step-failed")
    expect(failed_step).to_have_count(1)
    expect(failed_step).to_have_attribute("data-step", "ecommerce.publish")
    expect(failed_step.get_by_text("failed here")).to_be_visible()
    expect(page.locator('tr.issue-error[data-code="ecommerce_unavailable"]')).to_be_visible()
    cleaned = page.locator(
        '#raw-payload mark.json-warning[data-pointer="/course/full_description"]'
    )
    expect(cleaned).to_be_visible()
    expect(cleaned).to_contain_text("track()")
    expect(page.locator("#canonical-payload")).to_contain_text('"course_runs"')
    screenshot(page, "event-failed")

    # Ecommerce is back: the operator replays the event, and it is applied.
    ecommerce.clear_faults()
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_have_text("Replayed: the event is now applied.")
    expect(page.locator("h1 .badge")).to_have_text("applied")
    latest = page.locator("ol.timeline").first
    expect(latest.locator('li[data-step="ecommerce.publish"]')).to_have_attribute(
        "data-status", "ok"
    )
    expect(latest.locator("li.step-failed")).to_have_count(0)
    expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    # The failed attempt is kept, with its trace, below the latest.
    expect(page.locator("li.attempt")).to_have_count(2)
    expect(page.locator("li.attempt").first).to_have_attribute("data-attempt", "2")
    failed_attempt = page.locator('li.attempt[data-attempt="1"]')
    expect(failed_attempt.locator(".badge").first).to_have_text("failed")
    expect(failed_attempt.locator("li.step-failed")).to_have_attribute(
        "data-step", "ecommerce.publish"
    )
    expect(failed_attempt.locator('[data-code="ecommerce_unavailable"]')).to_be_visible()
    screenshot(page, "event-replayed")

    # A rejected event: the error's field is marked in the payload exactly as the LoB sent it.
    page.goto(f"{live_url}/console/events?status=rejected")
    page.get_by_role("link", name="dsl-bad-card").click()
    card = page.locator('#raw-payload mark.json-error[data-pointer="/cardUrl"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text(BAD_CARD_URL)
    screenshot(page, "event-rejected")
    page.get_by_role("link", name="/cardUrl").click()
    expect(card).to_be_focused()

    # Sources: limits, activity, keys.
    page.get_by_role("link", name="Sources").click()
    expect(page.locator('tr[data-source="exec-ed"] td').nth(2)).to_have_text("2")
    expect(page.locator('tr[data-source="exec-ed"] td').nth(4)).to_have_text("50%")
    screenshot(page, "sources")

    # The catalog: the replayed run is published, with the SKU ecommerce gave it; exec-ed's
    # run, sold by exec-ed itself, is published too.
    page.get_by_role("link", name="Catalog").click()
    run = page.locator('tr[data-run^="course-v1:HarvardX+CODE200+"]')
    expect(run.locator(".badge")).to_have_text("published")
    expect(run.locator("code").nth(1)).to_be_visible()
    own = page.locator('tr[data-run^="course-v1:MITx+DSL+"]')
    expect(own.locator(".badge")).to_have_text("published")
    screenshot(page, "catalog")
    page.get_by_role("link", name="Degrees").click()
    expect(page.locator('tr[data-degree="software-engineering-certificate"]')).to_be_visible()


def test_keys_are_created_shown_once_and_revoked_from_the_sources_page(
    page: Page, live_url: str, console_keys: ConsoleKeys
) -> None:
    page.goto(f"{live_url}/console/login")
    page.get_by_label("Admin API key").fill(console_keys.admin)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Sources").click()

    page.get_by_role("button", name="Create a key for bootcamps").click()
    new_key = page.get_by_label("API key").input_value()
    assert new_key.startswith("cgw_")
    screenshot(page, "key-created")
    events = httpx.get(f"{live_url}/api/v1/events", headers=bearer(new_key))
    assert events.status_code == 200
    page.get_by_role("link", name="Back to the sources").click()
    expect(page.get_by_text(new_key)).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    keys_of_bootcamps = page.locator("#keys-bootcamps tbody tr")
    keys_of_bootcamps.last.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("of bootcamps is revoked.")
    expect(keys_of_bootcamps.last.locator(".badge")).to_have_text("revoked")
    assert httpx.get(f"{live_url}/api/v1/events", headers=bearer(new_key)).status_code == 401


def test_an_operator_finds_events_by_id_or_by_a_runs_key_and_follows_them(
    page: Page, live_url: str, console_keys: ConsoleKeys
) -> None:
    keys = console_keys
    send(live_url, keys.bootcamps, bootcamp_event("bc-1"), 200)
    send(live_url, keys.bootcamps, bootcamp_event("bc-2"), 200)
    send(live_url, keys.bootcamps, bootcamp_event("shared-1", number="CODE200"), 200)
    send(live_url, keys.exec_ed, exec_ed_event("shared-1"), 200)
    send(live_url, keys.exec_ed, exec_ed_event(ODD_ID), 200)
    page.goto(f"{live_url}/console/login")
    page.get_by_label("Admin API key").fill(keys.admin)
    page.get_by_role("button", name="Log in").click()
    find = page.get_by_label("Find an event")

    # An event id: found in each source that has it.
    find.fill("shared-1")
    find.press("Enter")
    expect(page).to_have_url(f"{live_url}/console/search?q=shared-1")
    by_id = page.locator("#by-id tbody tr")
    expect(by_id).to_have_count(2)
    expect(page.locator("#no-naming")).to_be_visible()
    by_id.filter(has_text="bootcamps").get_by_role("link", name="shared-1").click()
    expect(page).to_have_url(f"{live_url}/console/events/bootcamps/shared-1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("shared-1")

    # An id that matches nothing says so.
    find.fill("shared-404")
    find.press("Enter")
    expect(page.locator("#no-id")).to_have_text("No event has the id shared-404 in any source.")

    # A run's key: the events that name it, newest first.
    find.fill("course-v1:HarvardX+CODE100+2T2027")
    page.get_by_role("button", name="Find").click()
    naming = page.locator("#naming tbody tr")
    expect(naming).to_have_count(2)
    expect(naming.first).to_have_attribute("data-event", "bc-2")
    expect(naming.first.locator("td").last).to_have_text("course run")
    expect(page.locator("#no-id")).to_be_visible()
    screenshot(page, "search")
    naming.last.get_by_role("link", name="bc-1").click()
    expect(page).to_have_url(f"{live_url}/console/events/bootcamps/bc-1")

    # An id with characters that mean something in a URL has a working address too.
    find.fill(ODD_ID)
    find.press("Enter")
    page.locator("#by-id").get_by_role("link", name=ODD_ID).click()
    expect(page).to_have_url(f"{live_url}/console/events/exec-ed/dsl%2F50%25%3Foff%23now")
    expect(page.get_by_role("heading", level=1)).to_contain_text(ODD_ID)
