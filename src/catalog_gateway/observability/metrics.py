"""Prometheus metrics of the gateway. Their names and labels are a contract: dashboards, alerts,
the console and docs/operations.md rely on them.

Several server processes: when `PROMETHEUS_MULTIPROC_DIR` is set (before the process starts;
`catalog-gateway serve --workers N` sets it), prometheus-client keeps every value in a file of
that directory and `render_metrics` sums the files of every process, so any process answers a
scrape with the totals of all of them. Without it, values live in the process's memory.

Label values are bounded: sources are slugs, event types and step names come from the code,
routes are route templates; whatever a client could invent becomes `unknown`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from catalog_gateway.events.results import EventAnswer, StepStatus
from catalog_gateway.events.types import EventType

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN = "unknown"
# The rate-limit policy of event requests (`api.protection.EVENTS_POLICY`).
_EVENTS_POLICY = "events"
_EVENT_TYPES = frozenset(event_type.value for event_type in EventType)
# Steps that did not run (skipped, or only planned) took no time: they would only drag the
# histogram towards zero.
_TIMED_STEPS = frozenset({StepStatus.OK, StepStatus.FAILED})
_BREAKER_VALUES = {"closed": 0.0, "half-open": 0.5, "open": 1.0}

_STEP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class GatewayMetrics:
    """Every metric of the gateway, registered in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter(
            "catalog_gateway_events_total",
            "Event answers, by source, event type and status (dry runs: `planned`).",
            ["source", "event_type", "status"],
            registry=registry,
        )
        self.step_duration = Histogram(
            "catalog_gateway_step_duration_seconds",
            "Duration of each step that ran (status ok or failed), by step name.",
            ["step"],
            buckets=_STEP_BUCKETS,
            registry=registry,
        )
        self.throttled = Counter(
            "catalog_gateway_throttled_total",
            "Requests answered 429, by source (`-`: none) and rate-limit policy.",
            ["source", "policy"],
            registry=registry,
        )
        self.shed = Counter(
            "catalog_gateway_shed_total",
            "Event requests answered 503 `overloaded` (load shed), by route.",
            ["route"],
            registry=registry,
        )
        self.downstream_calls = Counter(
            "catalog_gateway_downstream_calls_total",
            "HTTP calls to downstream systems, by system and outcome (HTTP status, `timeout`, "
            "`connection_error`).",
            ["system", "outcome"],
            registry=registry,
        )
        self.breaker_state = Gauge(
            "catalog_gateway_breaker_state",
            "Circuit breaker of a downstream system: 0 closed, 0.5 half-open, 1 open "
            "(several processes: the highest).",
            ["system"],
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.in_flight = Gauge(
            "catalog_gateway_in_flight_requests",
            "Requests being answered: `write` (event requests) and `read` (the others).",
            ["kind"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.http_duration = Histogram(
            "catalog_gateway_http_request_duration_seconds",
            "Time to answer HTTP requests, by method, route template and status.",
            ["method", "route", "status"],
            buckets=_HTTP_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "catalog_gateway_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled every 25 ms): time a request waits "
            "before the process even looks at it.",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.gc_pause = Histogram(
            "catalog_gateway_gc_pause_seconds",
            "How long each collection of Python's cyclic garbage collector stopped the process "
            "(every thread, the event loop too), by generation (2: the whole heap).",
            ["generation"],
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.group_requests = Histogram(
            "catalog_gateway_group_commit_requests",
            "Requests whose events the writer lane committed together, per group.",
            buckets=_GROUP_BUCKETS,
            registry=registry,
        )
        self.group_events = Histogram(
            "catalog_gateway_group_commit_events",
            "Events the writer lane committed together, per group.",
            buckets=_GROUP_BUCKETS,
            registry=registry,
        )


_DEFAULT = GatewayMetrics(REGISTRY)
_current = _DEFAULT


def use_registry(registry: CollectorRegistry | None) -> None:
    """Record into a registry of one's own from now on (tests: a fresh one each);
    None: back to the process-wide default."""
    global _current
    _current = GatewayMetrics(registry) if registry is not None else _DEFAULT


def is_multiprocess() -> bool:
    """True when values are shared through `PROMETHEUS_MULTIPROC_DIR`."""
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE))


def observe_answer(answer: EventAnswer, *, source: str) -> None:
    """Count an event answer, and time the steps that ran (a stored answer sent again ran
    none)."""
    event_type = answer.event_type if answer.event_type in _EVENT_TYPES else UNKNOWN
    _current.events.labels(source, event_type, answer.status.value).inc()
    if answer.replayed:
        return
    for step in answer.steps:
        if step.status in _TIMED_STEPS:
            _current.step_duration.labels(step.name).observe(step.duration_ms / 1000)


def count_throttled(source: str, policy: str) -> None:
    """Count a 429; `source` is the slug, or `-` for a read without a source."""
    _current.throttled.labels(source, policy).inc()


def count_shed(route: str) -> None:
    """Count a 503 `overloaded`."""
    _current.shed.labels(route).inc()


def count_downstream_call(system: str, outcome: str) -> None:
    """Count one HTTP call to a downstream system: its HTTP status, `timeout` or
    `connection_error`."""
    _current.downstream_calls.labels(system, outcome).inc()


def set_breaker_state(system: str, state: str) -> None:
    """The state (`closed`, `half-open`, `open`) of a downstream system's circuit breaker."""
    _current.breaker_state.labels(system).set(_BREAKER_VALUES[state])


@contextmanager
def in_flight(kind: str) -> Iterator[None]:
    """Count a request of `kind` (`write` or `read`) as in flight for the block."""
    gauge = _current.in_flight.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Time one HTTP answer."""
    _current.http_duration.labels(method, route, str(status)).observe(seconds)


def observe_loop_lag(seconds: float) -> None:
    """How late one timer of the event loop fired."""
    _current.loop_lag.observe(seconds)


def observe_gc_pause(generation: int, seconds: float) -> None:
    """How long one garbage collection of `generation` stopped the process."""
    _current.gc_pause.labels(str(generation)).observe(seconds)


def observe_group_commit(requests: int, events: int) -> None:
    """One group the writer lane committed: how many requests, and events, it held."""
    _current.group_requests.observe(requests)
    _current.group_events.observe(events)


def throttled_by_source() -> dict[str, float]:
    """429s of event requests per source slug, summed over every process."""
    totals: dict[str, float] = {}
    for family in _collect():
        for sample in family.samples:
            if (
                sample.name == "catalog_gateway_throttled_total"
                and sample.labels.get("policy") == _EVENTS_POLICY
            ):
                source = sample.labels["source"]
                totals[source] = totals.get(source, 0.0) + sample.value
    return totals


def render_metrics() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric (of every process, in multiprocess
    mode), and its content type."""
    registry = _every_process() if is_multiprocess() else _current.registry
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_stopped() -> None:
    """Forget this process's live gauges (multiprocess mode): call when it stops serving."""
    if is_multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@contextmanager
def multiprocess_directory(processes: int) -> Iterator[None]:
    """For `processes` > 1 server processes, a fresh temporary `PROMETHEUS_MULTIPROC_DIR`
    (unless the operator set one), removed afterwards."""
    if processes <= 1 or is_multiprocess():
        yield
        return
    with tempfile.TemporaryDirectory(prefix="catalog-gateway-metrics-") as directory:
        os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIRECTORY_VARIABLE]


def _collect() -> Iterable[Metric]:
    if is_multiprocess():
        return _every_process().collect()
    return _current.throttled.collect()


def _every_process() -> CollectorRegistry:
    """A registry that reads the values of every process from `PROMETHEUS_MULTIPROC_DIR`."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
