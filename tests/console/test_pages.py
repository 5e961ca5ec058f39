"""What the console's pages show an operator, on each database backend."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from catalog_gateway.console import queries, routes
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.observability.metrics import throttled_by_source
from catalog_gateway.sources.service import create_source
from tests.console.conftest import Browser, bootcamp_event, degree_event, exec_ed_event
from tests.factories import INSTALLED
from tests.gateway.conftest import bearer
from tests.protection.conftest import fresh_window

BAD_CARD_URL = "aHR0cHM6Ly9pbWFnZXM*invalid"


def listed(page: str) -> list[str]:
    """The event ids of an events page, top to bottom."""
    return [html.unescape(found) for found in re.findall(r'<tr data-event="([^"]+)"', page)]


def detail_path(admin: Browser, event_id: str) -> str:
    """The console path of an event's detail page, found through the events page."""
    page = admin.get("/events").text
    match = re.search(rf'href="/console(/events/[a-z0-9-]+/[^"]+)">{re.escape(event_id)}</a>', page)
    assert match, f"{event_id} is not on the events page"
    return html.unescape(match.group(1))


def cells(page: str, row_attribute: str) -> list[str]:
    """The text of each cell of the table row marked with `row_attribute` (e.g. data-source="x")."""
    match = re.search(rf"<tr {re.escape(row_attribute)}>(.*?)</tr>", page, re.S)
    assert match, f"no row {row_attribute}"
    parts = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", part).split()) for part in parts]


# The HTTP status of each answer the tests expect (DESIGN §6).
ANSWER_HTTP_STATUS = {"applied": 200, "unchanged": 200, "rejected": 422}


def sent(admin: Browser, *events: tuple[str, dict[str, object], str]) -> None:
    """Each (key, event, expected answer status) sent by its source, answered as expected."""
    for key, event, status in events:
        response = admin.send(key, event)
        assert response.status_code == ANSWER_HTTP_STATUS[status], response.text
        assert response.json()["status"] == status, response.text


def test_events_are_listed_newest_first_and_filtered_by_source_type_status_and_time(
    admin: Browser,
) -> None:
    keys = admin.keys
    sent(
        admin,
        (keys.bootcamps, bootcamp_event("bc-1"), "applied"),
        (keys.exec_ed, exec_ed_event("dsl-bad-card", cardUrl=BAD_CARD_URL), "rejected"),
        (keys.bootcamps, degree_event("deg-1"), "applied"),
        (keys.exec_ed, exec_ed_event("dsl-1"), "applied"),
    )
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    assert listed(admin.get("/events").text) == ["dsl-1", "deg-1", "dsl-bad-card", "bc-1"]
    assert listed(admin.get("/events", status="rejected").text) == ["dsl-bad-card"]
    assert listed(admin.get("/events", source="bootcamps").text) == ["deg-1", "bc-1"]
    assert listed(admin.get("/events", event_type="degree.upsert").text) == ["deg-1"]
    assert listed(admin.get("/events", source="exec-ed", status="applied").text) == ["dsl-1"]
    assert len(listed(admin.get("/events", since=an_hour_ago).text)) == 4
    assert listed(admin.get("/events", since=in_an_hour).text) == []


def test_the_events_filter_form_keeps_what_was_chosen(admin: Browser) -> None:
    page = admin.get("/events", source="exec-ed", status="failed").text

    assert '<option value="exec-ed" selected>exec-ed</option>' in page
    assert '<option value="failed" selected>failed</option>' in page
    assert '<label for="filter-status">Status</label>' in page


def test_events_are_paged_from_the_newest_with_a_cursor(
    admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "EVENTS_PAGE_SIZE", 2)
    sent(
        admin,
        (admin.keys.bootcamps, bootcamp_event("bc-0"), "applied"),
        *((admin.keys.bootcamps, bootcamp_event(f"bc-{n}"), "unchanged") for n in range(1, 5)),
    )

    seen: list[str] = []
    response = admin.get("/events", source="bootcamps")
    while True:
        seen.extend(listed(response.text))
        older = re.search(r'href="/console(/events\?[^"]*before=\d+)" rel="next"', response.text)
        if older is None:
            break
        response = admin.client.get("/console" + html.unescape(older.group(1)))

    assert seen == [f"bc-{n}" for n in reversed(range(5))]


def test_an_unknown_filter_value_is_a_page_saying_so(admin: Browser) -> None:
    response = admin.get("/events", status="lost")

    assert response.status_code == 400
    assert "There is no status &#39;lost&#39;." in response.text


def test_a_rejected_event_shows_its_failed_step_and_marks_the_field_in_both_payloads(
    admin: Browser,
) -> None:
    sent(
        admin, (admin.keys.exec_ed, exec_ed_event("dsl-bad-card", cardUrl=BAD_CARD_URL), "rejected")
    )

    page = admin.get(detail_path(admin, "dsl-bad-card")).text

    assert re.search(r'class="step step-failed" data-step="transform"', page)
    assert 'data-code="invalid_format"' in page
    raw = page.split('id="raw-payload"')[1].split("</pre>")[0]
    assert re.search(r'<mark class="json-mark json-error" [^>]*data-pointer="/cardUrl"', raw)
    assert BAD_CARD_URL in raw
    canonical = page.split('id="canonical-payload"')[1].split("</pre>")[0]
    assert 'data-pointer="/course/image_url"' not in canonical
    assert re.search(
        r'<mark class="json-mark json-error-near" [^>]*data-pointer="/course"', canonical
    )
    assert 'id="replay"' not in page


def test_a_field_the_source_left_out_marks_the_nearest_part_it_sent(admin: Browser) -> None:
    event = exec_ed_event("dsl-no-variant-end")
    del event["payload"]["variant"]["endDate"]
    sent(admin, (admin.keys.exec_ed, event, "rejected"))

    page = admin.get(detail_path(admin, "dsl-no-variant-end")).text

    raw = page.split('id="raw-payload"')[1].split("</pre>")[0]
    assert re.search(r'<mark class="json-mark json-error-near" [^>]*data-pointer="/variant"', raw)
    assert "(absent: it belongs in /variant)" in page


def test_an_event_that_does_not_exist_is_a_404_page(admin: Browser) -> None:
    response = admin.get("/events/999999")

    assert response.status_code == 404
    assert "There is no event 999999." in response.text


def test_replaying_an_event_that_did_not_fail_changes_nothing_and_says_why(
    admin: Browser,
) -> None:
    sent(admin, (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"))
    path = detail_path(admin, "bc-1")

    response = admin.submit(f"{path}/replay")

    assert response.status_code == 303
    page = admin.get(path).text
    assert "Not replayed: event bc-1 is applied" in page
    assert 'id="replay"' not in page


def test_events_are_counted_per_minute_and_status_from_the_window_start(
    admin: Browser, database: Database
) -> None:
    minute = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    received = [
        ("before", "applied", minute - timedelta(seconds=1)),
        ("a", "applied", minute + timedelta(seconds=5)),
        ("b", "applied", minute + timedelta(seconds=59, microseconds=999_000)),
        ("c", "failed", minute + timedelta(minutes=1)),
        ("d", "rejected", minute + timedelta(minutes=1, seconds=30)),
    ]
    with database.unit_of_work() as session:
        source_id = queries.source_slugs(session)[0][0]
        for event_id, status, at in received:
            session.add(_record(source_id, event_id, status, at))

    with database.read() as session:
        counts = queries.events_per_minute(session, minute)

    first = int(minute.timestamp()) // 60
    assert counts == {(first, "applied"): 2, (first + 1, "failed"): 1, (first + 1, "rejected"): 1}


def test_the_dashboard_charts_the_last_hour_and_shows_the_breaker(admin: Browser) -> None:
    keys = admin.keys
    sent(
        admin,
        (keys.bootcamps, bootcamp_event("bc-1"), "applied"),
        (keys.bootcamps, bootcamp_event("bc-2"), "unchanged"),
        (keys.exec_ed, exec_ed_event("dsl-bad-card", cardUrl=BAD_CARD_URL), "rejected"),
    )

    page = admin.get("/").text

    assert "Events per minute over the last 60 minutes: 1 applied, 1 unchanged, 1 rejected" in page
    assert len(re.findall(r'<rect class="bar s-', page)) == 3
    assert re.search(r'<svg viewBox="0 0 720 200" role="img" aria-labelledby="chart-desc"', page)
    assert 'class="badge breaker-not-configured">not configured<' in page


def test_sources_show_their_limits_activity_error_rate_and_429s(
    admin: Browser, database: Database
) -> None:
    with database.unit_of_work() as session:
        _, issued = create_source(
            session, "flood", transformer="canonical", installed=INSTALLED, rate="1/minute", burst=1
        )
    throttled_before = throttled_by_source().get("flood", 0)
    fresh_window(needed=2.0, window=60.0)  # the three in one wall-clock minute, the limit's window
    answers = [admin.send(issued.api_key, bootcamp_event(f"f-{n}")).status_code for n in range(3)]
    assert answers == [200, 429, 429]
    sent(
        admin,
        (admin.keys.exec_ed, exec_ed_event("dsl-1"), "applied"),
        (admin.keys.exec_ed, exec_ed_event("dsl-bad-card", cardUrl=BAD_CARD_URL), "rejected"),
    )

    page = admin.get("/sources").text

    flood = cells(page, 'data-source="flood"')
    assert flood[1:7] == [
        "canonical",
        "1/minute, burst 1",
        "1",
        "0.1",
        "0%",
        str(int(throttled_before) + 2),
    ]
    assert flood[7].endswith("s ago")
    exec_ed = cells(page, 'data-source="exec-ed"')
    assert exec_ed[3:6] == ["2", "0.1", "50%"]
    assert cells(page, 'data-source="bootcamps"')[3:6] == ["0", "0.0", "\N{EN DASH}"]


def test_a_new_key_is_shown_once_and_works_until_it_is_revoked(admin: Browser) -> None:
    created = admin.submit("/sources/bootcamps/keys")

    assert created.status_code == 201
    found = re.search(r'id="new-key" value="(cgw_[^"]+)"', created.text)
    assert found, created.text
    new_key = found.group(1)
    key_id = re.search(r"\(id <code>(key_[0-9a-f]+)</code>\)", created.text)
    assert key_id
    assert created.headers["cache-control"] == "no-store"
    assert _reading_events(admin, new_key) == 200
    sources = admin.get("/sources").text
    assert new_key not in sources
    row = cells(sources, f'data-key="{key_id.group(1)}"')
    assert row[2] != "never"  # it was just used to read the events
    assert row[3] == "live"

    revoked = admin.submit(f"/keys/{key_id.group(1)}/revoke")

    assert revoked.status_code == 303
    sources = admin.get("/sources").text
    assert f"Key {key_id.group(1)} of bootcamps is revoked." in sources
    assert cells(sources, f'data-key="{key_id.group(1)}"')[3].startswith("revoked")
    assert _reading_events(admin, new_key) == 401
    assert _reading_events(admin, admin.keys.bootcamps) == 200


def test_the_catalog_shows_courses_with_runs_status_seats_and_skus_and_the_degrees(
    admin: Browser,
) -> None:
    sent(
        admin,
        (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"),
        (admin.keys.bootcamps, degree_event("deg-1"), "applied"),
        (admin.keys.exec_ed, exec_ed_event("dsl-1"), "applied"),
    )

    courses = admin.get("/catalog").text
    degrees = admin.get("/catalog/degrees").text

    assert 'data-course="HarvardX+CODE100"' in courses
    assert 'data-course="MITx+DSL"' in courses
    run = cells(courses, 'data-run="course-v1:HarvardX+CODE100+2T2027"')
    assert run == [
        "course-v1:HarvardX+CODE100+2T2027",
        "published",
        "2027-05-03 → 2027-08-27",
        "paid-bootcamp: 12000.00 USD · SKU none yet",
    ]
    assert cells(degrees, 'data-degree="software-engineering-certificate"') == [
        "Professional Certificate in Software Engineering software-engineering-certificate",
        "professional-certificate",
        "HarvardX",
        "bootcamps",
        "published",
        "HarvardX+CODE100",
    ]
    only_exec_ed = admin.get("/catalog", source="exec-ed").text
    assert 'data-course="HarvardX+CODE100"' not in only_exec_ed
    assert 'data-course="MITx+DSL"' in only_exec_ed
    # What the storefront needs (issue 14, point 3), shown with the course.
    assert "<dt>Slug</dt><dd><code>data-science-for-leaders</code></dd>" in only_exec_ed
    assert "<dt>SEO title</dt><dd>Data Science for Leaders | MIT Sloan</dd>" in only_exec_ed
    assert (
        "<dt>Inquiry form</dt><dd><code>f1e2d3c4-taxi</code> → "
        "https://exec-ed.example.com/mit/dsl/prospectus.pdf</dd>"
    ) in only_exec_ed


def test_the_catalog_is_paged_with_a_cursor(
    admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "CATALOG_PAGE_SIZE", 1)
    sent(
        admin,
        (admin.keys.bootcamps, bootcamp_event("bc-1"), "applied"),
        (admin.keys.exec_ed, exec_ed_event("dsl-1"), "applied"),
    )

    first = admin.get("/catalog").text
    following = re.search(r'href="(\?cursor=[^"]+)" rel="next"', first)
    assert following
    second = admin.client.get("/console/catalog" + html.unescape(following.group(1))).text

    assert re.findall(r'data-course="([^"]+)"', first) == ["HarvardX+CODE100"]
    assert re.findall(r'data-course="([^"]+)"', second) == ["MITx+DSL"]
    assert 'rel="next"' not in second


def _reading_events(admin: Browser, api_key: str) -> int:
    """The HTTP status of GET /api/v1/events with `api_key`."""
    return admin.client.get("/api/v1/events", headers=bearer(api_key)).status_code


def _record(source_id: int, event_id: str, status: str, received_at: datetime) -> EventRecord:
    return EventRecord(
        source_id=source_id,
        event_id=event_id,
        event_type="product.upsert",
        payload_hash="0" * 64,
        raw_payload={},
        status=status,
        occurred_at=received_at,
        received_at=received_at,
    )


def test_the_dashboard_shows_this_process_event_loop_lag(admin: Browser) -> None:
    deadline = time.monotonic() + 5
    page = admin.get("/").text
    while "No sample yet" in page and time.monotonic() < deadline:
        time.sleep(0.05)
        page = admin.get("/").text

    card = re.search(r'<div class="card" id="loop-lag">(.*?)</div>', page, re.S)
    assert card, page
    text = " ".join(re.sub(r"<[^>]+>", " ", card.group(1)).split())
    assert re.fullmatch(
        r"Event-loop lag [\d.]+ ms p99 Last minute: median [\d.]+ ms, at most [\d.]+ ms\. "
        r"(Requests are looked at as they arrive\.|Every answer, a read or a 429, waits this "
        r"long before it is looked at\.) As seen by this server process\.",
        text,
    ), text


def test_the_dashboard_counts_events_stuck_in_progress_past_their_lease(
    admin: Browser, database: Database
) -> None:
    keys = admin.keys
    sent(
        admin,
        (keys.bootcamps, bootcamp_event("bc-stuck"), "applied"),
        (keys.bootcamps, bootcamp_event("bc-fresh", number="CODE200"), "applied"),
    )
    claimed = {"bc-stuck": timedelta(minutes=10), "bc-fresh": timedelta(seconds=5)}  # lease 2 min
    with database.unit_of_work() as session:
        for event_id, ago in claimed.items():
            session.execute(
                update(EventRecord)
                .where(EventRecord.event_id == event_id)
                .values(status="in_progress", updated_at=datetime.now(UTC) - ago)
            )

    page = admin.get("/").text

    card = re.search(r'<div class="card" id="stuck">(.*?)</div>', page, re.S)
    assert card, page
    text = " ".join(re.sub(r"<[^>]+>", " ", card.group(1)).split())
    assert text.startswith("Stuck in progress 1 event Left in progress past their lease"), text
    assert 'href="/console/events?status=in_progress"' in card.group(1)
