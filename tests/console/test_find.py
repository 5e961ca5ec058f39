"""Finding and following an event in the console, on each database backend: the search by
event id (in every source) and by course or run key, event pages addressed by source and event
id (the former address by row id redirects), and a trace that counts and times consistently."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from catalog_gateway.console import routes
from catalog_gateway.console.rendering import ago, milliseconds
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.text import counted
from tests.console.conftest import Browser, bootcamp_event, degree_event, exec_ed_event
from tests.console.test_pages import BAD_CARD_URL, sent
from tests.gateway.conftest import bearer

CODE100 = "HarvardX+CODE100"
CODE100_RUN = "course-v1:HarvardX+CODE100+2T2027"


def found(page: str, section: str) -> list[tuple[str, str]]:
    """(source, event id) of each row of the search page's section (`by-id` or `naming`)."""
    match = re.search(rf'<section [^>]*id="{section}">(.*?)</section>', page, re.S)
    assert match, f"no section {section}"
    rows = re.findall(r'<tr data-event="([^"]+)" data-source="([^"]+)">', match.group(1))
    return [(html.unescape(source), html.unescape(event_id)) for event_id, source in rows]


def link_of(page: str, event_id: str) -> str:
    """The console path an event's link on `page` leads to."""
    match = re.search(
        rf'<a href="/console(/events/[^"]+)">{re.escape(html.escape(event_id))}</a>', page
    )
    assert match, f"no link to {event_id}"
    return html.unescape(match.group(1))


def answer_of(admin: Browser, source: str, event_id: str) -> dict[str, Any]:
    """The event's record as the HTTP API gives it to an admin."""
    response = admin.client.get(
        f"/api/v1/events/{quote(event_id, safe='')}",
        params={"source": source},
        headers=bearer(admin.keys.admin),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- search -------------------------------------------------------------------------------


def test_an_event_id_is_found_in_every_source_that_has_it(admin: Browser) -> None:
    keys = admin.keys
    sent(
        admin,
        (keys.bootcamps, bootcamp_event("shared-1"), "applied"),
        (keys.exec_ed, exec_ed_event("shared-1"), "applied"),
        (keys.exec_ed, exec_ed_event("dsl-1"), "unchanged"),
    )

    page = admin.get("/search", q="shared-1").text
    only_one = admin.get("/search", q="dsl-1").text

    assert found(page, "by-id") == [("exec-ed", "shared-1"), ("bootcamps", "shared-1")]
    assert "In every source: 2 events with this id" in page
    assert link_of(page, "shared-1") == "/events/exec-ed/shared-1"
    assert found(only_one, "by-id") == [("exec-ed", "dsl-1")]
    assert "In every source: 1 event with this id" in only_one
    # The search box keeps what was searched.
    assert 'name="q" value="dsl-1"' in only_one


def test_an_id_that_matches_nothing_says_so(admin: Browser) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"))

    page = admin.get("/search", q="bc-404").text

    assert "No event has the id <code>bc-404</code> in any source." in page
    assert "No event names a course or course run with the key <code>bc-404</code>." in page
    assert found(page, "by-id") == []


def test_a_course_key_or_run_key_finds_the_events_that_name_it(admin: Browser) -> None:
    keys = admin.keys
    sent(
        admin,
        (keys.bootcamps, bootcamp_event("bc-1"), "applied"),
        (keys.bootcamps, bootcamp_event("bc-200", number="CODE200"), "applied"),
        (keys.bootcamps, degree_event("deg-1"), "applied"),
        (keys.exec_ed, exec_ed_event("dsl-1"), "applied"),
        (keys.bootcamps, bootcamp_event("bc-2"), "unchanged"),
    )

    by_course = admin.get("/search", q=CODE100).text
    by_run = admin.get("/search", q=CODE100_RUN).text
    by_other_course = admin.get("/search", q="MITx+DSL").text

    assert found(by_course, "naming") == [("bootcamps", "bc-2"), ("bootcamps", "bc-1")]
    assert found(by_run, "naming") == [("bootcamps", "bc-2"), ("bootcamps", "bc-1")]
    assert found(by_other_course, "naming") == [("exec-ed", "dsl-1")]
    assert found(by_course, "by-id") == []
    assert "No event has the id" in by_course
    row = re.search(r'<tr data-event="bc-1" data-source="bootcamps">(.*?)</tr>', by_run, re.S)
    assert row
    cells = [
        " ".join(re.sub(r"<[^>]+>", " ", c).split())
        for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    ]
    assert cells[1:] == ["bootcamps", "bc-1", "product.upsert", "applied", "course run"]
    assert cells[0].endswith(" UTC")
    assert re.search(
        r'<tr data-event="bc-1" data-source="bootcamps">.*?<td>course</td>', by_course, re.S
    )
    # A key is matched exactly, not as a part.
    assert found(admin.get("/search", q="HarvardX+CODE").text, "naming") == []


def test_events_that_name_a_key_are_paged_from_the_newest(
    admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "SEARCH_PAGE_SIZE", 2)
    sent(
        admin,
        (admin.keys.bootcamps, bootcamp_event("bc-0"), "applied"),
        *((admin.keys.bootcamps, bootcamp_event(f"bc-{n}"), "unchanged") for n in range(1, 5)),
    )

    seen: list[str] = []
    response = admin.get("/search", q=CODE100)
    while True:
        seen.extend(event_id for _, event_id in found(response.text, "naming"))
        older = re.search(r'href="/console(/search\?[^"]*before=\d+)" rel="next"', response.text)
        if older is None:
            break
        response = admin.client.get("/console" + html.unescape(older.group(1)))

    assert seen == [f"bc-{n}" for n in reversed(range(5))]


def test_the_search_box_is_on_every_page_and_an_empty_search_explains_itself(
    admin: Browser,
) -> None:
    for path in ("/", "/events", "/sources", "/catalog"):
        page = admin.get(path).text
        assert (
            '<form method="get" action="/console/search" class="site-search" role="search"' in page
        )
        assert '<label for="find" class="visually-hidden">Find an event</label>' in page

    empty = admin.get("/search", q="  ")

    assert empty.status_code == 200
    assert "an event's id finds that event in every source" in empty.text
    assert admin.get("/search", q="x" * 256).status_code == 400


def test_searching_needs_a_login(browser: Browser) -> None:
    response = browser.get("/search", q="bc-1")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fsearch%3Fq%3Dbc-1"


# --- event pages by source and event id ---------------------------------------------------


def test_an_event_page_is_addressed_by_its_source_and_event_id(admin: Browser) -> None:
    keys = admin.keys
    sent(
        admin,
        (keys.bootcamps, bootcamp_event("shared-1"), "applied"),
        (keys.exec_ed, exec_ed_event("shared-1"), "applied"),
    )

    bootcamps = admin.get("/events/bootcamps/shared-1")
    exec_ed = admin.get("/events/exec-ed/shared-1")

    assert bootcamps.status_code == exec_ed.status_code == 200
    assert "<dt>Source</dt><dd>bootcamps</dd>" in bootcamps.text
    assert "<dt>Source</dt><dd>exec-ed</dd>" in exec_ed.text
    assert link_of(admin.get("/events").text, "shared-1") == "/events/exec-ed/shared-1"


def test_the_former_address_by_row_id_redirects_to_the_address_by_key(
    admin: Browser, database: Database
) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"))
    with database.read() as session:
        record_id = session.query(EventRecord.id).filter(EventRecord.event_id == "bc-1").scalar()

    response = admin.get(f"/events/{record_id}")

    assert response.status_code == 301
    assert response.headers["location"] == "/console/events/bootcamps/bc-1"
    assert admin.client.get(response.headers["location"]).status_code == 200


# An id with `%` is followed in the browser test: the test client decodes a path twice.
@pytest.mark.parametrize("event_id", ["a/b", "q?x=1", "h#1", "dots/../up", "...", "x/replay"])
def test_any_event_id_has_a_working_address(admin: Browser, event_id: str) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event(event_id), "applied"))

    path = link_of(admin.get("/events").text, event_id)
    page = admin.get(path)

    assert path == f"/events/bootcamps/{quote(event_id, safe='')}"
    assert page.status_code == 200, page.text
    assert f"<h1>{html.escape(event_id)} " in page.text
    assert found(admin.get("/search", q=event_id).text, "by-id") == [("bootcamps", event_id)]


def test_an_id_a_browser_would_read_as_a_path_keeps_the_row_address(admin: Browser) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event(".."), "applied"))

    path = link_of(admin.get("/events").text, "..")
    page = admin.get(path)

    assert re.fullmatch(r"/events/\d+", path)
    assert page.status_code == 200
    assert "<h1>.. " in page.text


def test_an_unknown_source_or_event_is_a_404_page_saying_which(admin: Browser) -> None:
    unknown_source = admin.get("/events/nowhere/bc-1")
    unknown_event = admin.get("/events/bootcamps/bc-404")

    assert unknown_source.status_code == unknown_event.status_code == 404
    assert "There is no source &#39;nowhere&#39;." in unknown_source.text
    assert "Source bootcamps has no event &#39;bc-404&#39;." in unknown_event.text


def test_replaying_by_key_and_by_the_former_address_both_answer_on_the_page_by_key(
    admin: Browser, database: Database
) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"))
    with database.read() as session:
        record_id = session.query(EventRecord.id).filter(EventRecord.event_id == "bc-1").scalar()

    by_key = admin.submit("/events/bootcamps/bc-1/replay")
    after_by_key = admin.get("/events/bootcamps/bc-1").text
    former = admin.submit(f"/events/{record_id}/replay")
    after_former = admin.get("/events/bootcamps/bc-1").text

    for response, page in ((by_key, after_by_key), (former, after_former)):
        assert response.status_code == 303
        assert response.headers["location"] == "/console/events/bootcamps/bc-1"
        assert "Not replayed: event bc-1 is applied" in page
    assert admin.submit("/events/bootcamps/bc-404/replay").status_code == 404


# --- counts and durations -----------------------------------------------------------------


def test_a_count_of_one_is_singular_in_the_trace(admin: Browser) -> None:
    sent(
        admin, (admin.keys.exec_ed, exec_ed_event("dsl-bad-card", cardUrl=BAD_CARD_URL), "rejected")
    )

    answer = answer_of(admin, "exec-ed", "dsl-bad-card")
    page = admin.get("/events/exec-ed/dsl-bad-card").text

    [transform] = [step for step in answer["steps"] if step["name"] == "transform"]
    assert transform["detail"] == "1 field error"
    assert '<div class="step-detail">1 field error</div>' in page
    assert "field errors" not in page


def test_counts_name_one_thing_in_the_singular() -> None:
    assert [counted(n, "error") for n in (0, 1, 2)] == ["0 errors", "1 error", "2 errors"]
    assert counted(1, "new price") == "1 new price"
    assert counted(3, "SKU") == "3 SKUs"
    now = utcnow()
    assert ago(now - timedelta(days=1, hours=2)) == "1 day ago"
    assert ago(now - timedelta(days=3)) == "3 days ago"


def test_the_trace_says_how_much_of_the_events_duration_its_steps_took(admin: Browser) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"))

    answer = answer_of(admin, "bootcamps", "bc-1")
    page = admin.get("/events/bootcamps/bc-1").text

    steps_ms = milliseconds(sum(step["duration_ms"] for step in answer["steps"]))
    whole_ms = milliseconds(answer["duration_ms"])
    assert (
        f'They took <span class="steps-time">{steps_ms}</span> of the event\'s '
        f'<span class="whole-time">{whole_ms}</span>'
    ) in html.unescape(page)
    assert f"each bar is a step's share of the {steps_ms}." in page
    duration = f'<dd id="duration">{whole_ms} <span class="muted">({steps_ms} in steps)</span></dd>'
    assert duration in page
    assert "bars show each step's share" not in page  # the former, ambiguous wording


def test_the_api_event_keeps_its_shape(admin: Browser) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"))

    answer = answer_of(admin, "bootcamps", "bc-1")

    assert set(answer) == {
        "event_id",
        "event_type",
        "source",
        "status",
        "retryable",
        "duration_ms",
        "steps",
        "products",
        "errors",
        "warnings",
        "errors_truncated",
        "replayed",
        "occurred_at",
        "received_at",
        "updated_at",
        "attempts",
        "raw_payload",
        "canonical_payload",
    }
