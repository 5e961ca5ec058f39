"""The dashboard's chart: events per minute by status, as stacked bars drawn in inline SVG."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog_gateway.events.results import EventStatus

# Bottom to top: successes first, so failures stand out on top of each bar.
STATUS_ORDER = (
    EventStatus.APPLIED,
    EventStatus.UNCHANGED,
    EventStatus.PLANNED,
    EventStatus.STALE,
    EventStatus.CONFLICT,
    EventStatus.REJECTED,
    EventStatus.FAILED,
    EventStatus.IN_PROGRESS,
)

WIDTH = 720
HEIGHT = 200
_LEFT = 40
_BOTTOM = 20
_TOP = 10
_GAP = 2


@dataclass(frozen=True, slots=True)
class Segment:
    """One status's part of one minute's bar."""

    x: float
    y: float
    width: float
    height: float
    status: str
    label: str


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis label at a position."""

    position: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the template draws, already in SVG coordinates."""

    width: int
    height: int
    plot_left: int
    segments: list[Segment]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    totals: dict[str, int]
    peak: int
    summary: str


def window_start(now: datetime, minutes: int) -> datetime:
    """The start of the first minute shown: `minutes` whole minutes, the current one last."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)


def events_chart(counts: Mapping[tuple[int, str], int], start: datetime, minutes: int) -> Chart:
    """Stacked bars, one per minute from `start`, from (epoch minute, status) → count."""
    first = int(start.timestamp()) // 60
    per_minute = [
        {status.value: counts.get((first + offset, status.value), 0) for status in STATUS_ORDER}
        for offset in range(minutes)
    ]
    peak = max((sum(bar.values()) for bar in per_minute), default=0)
    scale_top = _nice_ceiling(peak)
    plot_bottom = HEIGHT - _BOTTOM
    plot_height = plot_bottom - _TOP
    slot = (WIDTH - _LEFT) / minutes
    segments: list[Segment] = []
    for offset, bar in enumerate(per_minute):
        y: float = plot_bottom
        when = (start + timedelta(minutes=offset)).strftime("%H:%M")
        for status, count in bar.items():
            if not count:
                continue
            height = plot_height * count / scale_top
            y -= height
            segments.append(
                Segment(
                    x=round(_LEFT + offset * slot + _GAP / 2, 2),
                    y=round(y, 2),
                    width=round(slot - _GAP, 2),
                    height=round(height, 2),
                    status=status,
                    label=f"{when} UTC: {count} {status}",
                )
            )
    totals = {status.value: sum(bar[status.value] for bar in per_minute) for status in STATUS_ORDER}
    x_ticks = [
        Tick(
            round(_LEFT + offset * slot, 2),
            (start + timedelta(minutes=offset)).strftime("%H:%M"),
        )
        for offset in range(0, minutes, 10)
    ]
    y_ticks = [
        Tick(round(plot_bottom - plot_height * value / scale_top, 2), str(value))
        for value in (0, scale_top // 2, scale_top)
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=_LEFT,
        segments=segments,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        totals={status: count for status, count in totals.items() if count},
        peak=peak,
        summary=_summary(totals, minutes, peak),
    )


def _nice_ceiling(peak: int) -> int:
    """The top of the scale: an even number ≥ the peak (so the middle tick is whole)."""
    for step in (2, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000):
        if peak <= step:
            return step
    return peak + peak % 2


def _summary(totals: Mapping[str, int], minutes: int, peak: int) -> str:
    """What the chart shows, in words (its accessible name)."""
    parts = [f"{count} {status}" for status, count in totals.items() if count]
    if not parts:
        return f"No events in the last {minutes} minutes."
    return (
        f"Events per minute over the last {minutes} minutes: "
        f"{', '.join(parts)}; at most {peak} in one minute."
    )
