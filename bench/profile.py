"""In-process profile of the event gateway: CPU milliseconds per event, on SQLite.

    python bench/profile.py                          # 300 events per scenario
    python bench/profile.py --events 100 --cprofile new.prof

`EventGateway` is built in this process on a fresh, migrated SQLite file and called through
`EventGateway.handle` only: no HTTP, no load generator, no other thread. Four scenarios of N
events each run in this order on the same database (payloads: `run.product`, a complete
product of 3 instructors, a course, 2 runs with 2 seats each):

- **new product**: N distinct products, each answered `applied`;
- **update**: the same N products, each with its title and a seat price changed, new event ids
  and a later `occurred_at`: `applied`;
- **unchanged**: the same N products again as they now are, new event ids, a later
  `occurred_at`: `unchanged`;
- **dry run**: N other new products with `dry_run=True`: `planned`.

The envelopes are built first; `time.process_time()` (CPU of the process) and
`time.perf_counter()` are read around the loop of `handle` calls only. One event applied and
one dry run, before the first scenario, warm the process up and are not counted. Every
answer's status is checked against the scenario's, so a figure never measures failures.

With `--cprofile OUT`, N more new products (or, with `--scenario unchanged`, the N products
of "new product" sent again as they are) are applied under cProfile after the four scenarios
(so it does not slow the figures), the profile is written to OUT and its top 25 functions by
cumulative time are printed.

The last line printed is `PROFILE apply_cpu_ms=… update_cpu_ms=… unchanged_cpu_ms=…
dry_cpu_ms=…`, which bench/run.py copies into its RESULT line (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from run import envelope  # bench/run.py: the payloads the HTTP benchmark sends

from catalog_gateway.bootstrap import bootstrap
from catalog_gateway.catalog.organizations import ensure_organization
from catalog_gateway.db.migrations import upgrade
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.results import EventStatus
from catalog_gateway.gateway.service import EventGateway, SourceProfile
from catalog_gateway.settings import Settings
from catalog_gateway.sources.service import create_source

if TYPE_CHECKING:
    import cProfile

EVENTS = 300
SOURCE = "profile"
TOP = 25
APPLIED, UNCHANGED, PLANNED = EventStatus.APPLIED, EventStatus.UNCHANGED, EventStatus.PLANNED
# The first product number of each group of products (`run.product(n)`).
NEW, DRY, PROFILED, WARM_UP = 0, 1_000_000, 2_000_000, 3_000_000
RESULT_KEYS = {
    "new product": "apply_cpu_ms",
    "update": "update_cpu_ms",
    "unchanged": "unchanged_cpu_ms",
    "dry run": "dry_cpu_ms",
}


@dataclass(frozen=True)
class Figure:
    """One scenario: how many events, the CPU and wall seconds of their `handle` calls."""

    name: str
    events: int
    cpu_seconds: float
    wall_seconds: float
    answers: Counter[str]

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds * 1000 / self.events

    @property
    def wall_ms(self) -> float:
        return self.wall_seconds * 1000 / self.events


@contextmanager
def gateway_on_sqlite() -> Iterator[tuple[EventGateway, SourceProfile]]:
    """The gateway on a fresh, migrated SQLite file holding organization MITx and a source,
    built from settings as `serve` builds it (caches included), without ecommerce."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/profile.db", ecommerce_url=None)
        services = bootstrap(settings)
        try:
            upgrade(services.database)
            with services.database.unit_of_work() as session:
                ensure_organization(session, "MITx", "Massachusetts Institute of Technology")
                create_source(
                    session,
                    SOURCE,
                    transformer="canonical",
                    installed=services.transformers.origins(),
                    rate="1000000/second",
                    burst=10**6,
                )
            gateway = services.gateway
            yield gateway, gateway.profile_by_slug(SOURCE)
        finally:
            services.close()


def events(first: int, count: int, revision: int, at_second: int) -> list[Envelope]:
    """Products `first`… at `revision`, each with a new event id, occurring `at_second` s
    after the benchmark's epoch."""
    return [
        Envelope.model_validate(envelope(first + n, revision, at_second=at_second))
        for n in range(count)
    ]


def measure(
    gateway: EventGateway,
    source: SourceProfile,
    name: str,
    envelopes: list[Envelope],
    expected: EventStatus,
    *,
    dry_run: bool = False,
    around: AbstractContextManager[Any] | None = None,
) -> Figure:
    """Handle every envelope; fail unless every answer is `expected`."""
    answers = []
    with around or nullcontext():
        wall, cpu = time.perf_counter(), time.process_time()
        for item in envelopes:
            answers.append(gateway.handle(source, item, dry_run=dry_run).answer)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    statuses = Counter(answer.status.value for answer in answers)
    if set(statuses) != {expected.value}:
        other = next(answer for answer in answers if answer.status is not expected)
        raise SystemExit(
            f"{name}: every answer should be {expected.value}, got {dict(statuses)}; "
            f"the first other one: {other.model_dump_json()[:2000]}"
        )
    return Figure(name, len(envelopes), cpu, wall, statuses)


def standard_profiler() -> cProfile.Profile:
    """A cProfile profiler. Run as a script, this folder is first on `sys.path`, where this
    file's name shadows the standard library's `profile`, which cProfile imports: it is taken
    off the path first (`run` is imported already)."""
    here = os.path.realpath(os.path.dirname(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or ".") != here]
    import cProfile

    return cProfile.Profile()


def profile(
    count: int = EVENTS, cprofile: Path | None = None, scenario: str = "new"
) -> dict[str, float]:
    """Run the four scenarios, print their table, and return CPU ms per event by RESULT key."""
    with gateway_on_sqlite() as (gateway, source):
        warm_up = events(WARM_UP, 2, 0, 0)
        measure(gateway, source, "warm-up", warm_up[:1], APPLIED)
        measure(gateway, source, "warm-up", warm_up[1:], PLANNED, dry_run=True)
        # events(products, revision, at EPOCH + s): revision 1 changes a title and a price.
        figures = [
            measure(gateway, source, "new product", events(NEW, count, 0, 0), APPLIED),
            measure(gateway, source, "update", events(NEW, count, 1, 1), APPLIED),
            measure(gateway, source, "unchanged", events(NEW, count, 1, 2), UNCHANGED),
            measure(gateway, source, "dry run", events(DRY, count, 0, 0), PLANNED, dry_run=True),
        ]
        if cprofile is not None:
            profiler = standard_profiler()
            if scenario == "unchanged":  # the products of "new product", sent again as they are
                profiled, expected = events(NEW, count, 1, 3), UNCHANGED
            else:
                profiled, expected = events(PROFILED, count, 0, 0), APPLIED
            measure(gateway, source, f"{scenario} (cProfile)", profiled, expected, around=profiler)
            profiler.dump_stats(cprofile)
    print(f"in process, SQLite file, {count} events per scenario, per event:")
    print("| scenario     | CPU ms | wall ms | answers |")
    print("|---|---|---|---|")
    for figure in figures:
        answers = ", ".join(f"{status} x{n}" for status, n in figure.answers.items())
        print(f"| {figure.name:<12} | {figure.cpu_ms:>6.2f} | {figure.wall_ms:>7.2f} | {answers} |")
    if cprofile is not None:
        what = "new products" if scenario == "new" else "unchanged products"
        print(f"\ncProfile of {count} more {what}, written to {cprofile}:")
        pstats.Stats(str(cprofile), stream=sys.stdout).sort_stats("cumulative").print_stats(TOP)
    return {RESULT_KEYS[figure.name]: figure.cpu_ms for figure in figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="events per scenario")
    parser.add_argument(
        "--cprofile", type=Path, metavar="OUT", help="also profile new products into OUT"
    )
    parser.add_argument(
        "--scenario",
        choices=["new", "unchanged"],
        default="new",
        help="what --cprofile profiles: N more new products, or the N products sent again",
    )
    arguments = parser.parse_args()
    if arguments.events < 1:
        parser.error("--events must be at least 1")
    figures = profile(arguments.events, arguments.cprofile, arguments.scenario)
    print("PROFILE " + " ".join(f"{key}={value:.3f}" for key, value in figures.items()))
