"""Event-loop lag (`observability.loop_lag`): what the monitor records, and that a running
server exports it as `catalog_gateway_event_loop_lag_seconds`."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry

from catalog_gateway.observability.loop_lag import LagSummary, LoopLagMonitor
from tests.observability.conftest import ClientFactory, scrape

LAG_COUNT = "catalog_gateway_event_loop_lag_seconds_count"


def test_the_summary_is_of_the_last_window_only(fresh_metrics: CollectorRegistry) -> None:
    monitor = LoopLagMonitor(window=60)
    monitor.record(0.0, 0.500)  # an old stall, forgotten once a minute has passed
    for n in range(100):  # 1 ms … 100 ms
        monitor.record(61.0 + n * 0.025, (n + 1) / 1000)

    assert monitor.summary() == LagSummary(samples=100, p50_ms=51.0, p99_ms=100.0, max_ms=100.0)
    assert fresh_metrics.get_sample_value(LAG_COUNT) == 101.0
    assert (
        fresh_metrics.get_sample_value(
            "catalog_gateway_event_loop_lag_seconds_bucket", {"le": "0.5"}
        )
        == 101.0
    )
    assert (
        fresh_metrics.get_sample_value(
            "catalog_gateway_event_loop_lag_seconds_bucket", {"le": "0.05"}
        )
        == 50.0
    )


def test_no_summary_before_the_first_sample() -> None:
    assert LoopLagMonitor().summary() is None


def test_a_running_server_samples_its_loop_and_exports_the_lag(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    deadline = time.monotonic() + 5
    samples = 0.0
    while samples < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
        samples = scrape(client)(LAG_COUNT)

    assert samples >= 4  # one every 25 ms while the server runs
