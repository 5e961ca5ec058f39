"""The pieces the pages are drawn from: the marked JSON view, the chart, the step timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from catalog_gateway.console import jsonview
from catalog_gateway.console.chart import events_chart, window_start
from catalog_gateway.console.pages import timeline
from catalog_gateway.events.results import StepRecord, StepStatus

PAYLOAD = {
    "variant": {"endDate": "2027-03-29", "tags": ["a", "b"]},
    "a/b": {"~x": 1},
    "note": "<script>alert(1)</script>",
}


def marked(html: str) -> dict[str, str]:
    """data-pointer → mark class, for each mark of a rendered view."""
    return {
        pointer: kind
        for kind, pointer in re.findall(
            r'<mark class="json-mark json-([a-z-]+)" id="[^"]+" data-pointer="([^"]*)"', html
        )
    }


def test_the_view_marks_each_pointer_it_is_given_and_escapes_every_value() -> None:
    html = jsonview.render(
        PAYLOAD,
        {"/variant/endDate": "error", "/variant/tags/1": "warning", "/a~1b/~0x": "error"},
        prefix="raw",
    )

    assert marked(html) == {
        "/variant/endDate": "error",
        "/variant/tags/1": "warning",
        "/a~1b/~0x": "error",
    }
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert f'id="{jsonview.anchor("raw", "/variant/endDate")}"' in html


def test_a_pointer_is_located_exactly_or_at_its_nearest_present_ancestor() -> None:
    assert jsonview.locate(PAYLOAD, "/variant/endDate") == jsonview.Located(
        "/variant/endDate", exact=True
    )
    assert jsonview.locate(PAYLOAD, "/a~1b/~0x") == jsonview.Located("/a~1b/~0x", exact=True)
    assert jsonview.locate(PAYLOAD, "/variant/startDate") == jsonview.Located(
        "/variant", exact=False
    )
    assert jsonview.locate(PAYLOAD, "/variant/tags/7") == jsonview.Located(
        "/variant/tags", exact=False
    )
    assert jsonview.locate(PAYLOAD, "/missing/deeper") == jsonview.Located("", exact=False)


def test_the_chart_stacks_each_minutes_statuses_and_scales_to_its_busiest_minute() -> None:
    start = window_start(datetime(2026, 11, 28, 10, 59, 30, tzinfo=UTC), 60)
    first = int(start.timestamp()) // 60
    counts = {(first, "applied"): 3, (first, "failed"): 1, (first + 59, "rejected"): 2}

    chart = events_chart(counts, start, 60)

    assert start == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert [(s.status, s.label) for s in chart.segments] == [
        ("applied", "10:00 UTC: 3 applied"),
        ("failed", "10:00 UTC: 1 failed"),
        ("rejected", "10:59 UTC: 2 rejected"),
    ]
    applied, failed, _ = chart.segments
    assert failed.y + failed.height == applied.y
    assert (chart.peak, chart.y_ticks[-1].text) == (4, "10")
    assert chart.totals == {"applied": 3, "rejected": 2, "failed": 1}
    assert [tick.text for tick in chart.x_ticks] == [
        "10:00",
        "10:10",
        "10:20",
        "10:30",
        "10:40",
        "10:50",
    ]


def test_an_empty_hour_draws_no_bars_and_says_so() -> None:
    chart = events_chart({}, window_start(datetime.now(UTC), 60), 60)

    assert chart.segments == []
    assert chart.summary == "No events in the last 60 minutes."


def test_steps_follow_each_other_on_the_timeline_and_the_failed_one_is_flagged() -> None:
    steps = [
        StepRecord(name="transform", status=StepStatus.OK, duration_ms=1.0),
        StepRecord(name="ecommerce.publish", status=StepStatus.FAILED, duration_ms=3.0),
        StepRecord(name="course_run.publish", status=StepStatus.SKIPPED, duration_ms=0.0),
    ]

    placed, total = timeline(steps)

    assert total == 4.0
    assert [(p.offset, p.width, p.failed) for p in placed] == [
        (0.0, 25.0, False),
        (25.0, 75.0, True),
        (99.6, 0.4, False),
    ]
