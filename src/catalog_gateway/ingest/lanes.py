"""Lanes: events split so that concurrent sending never reorders one product's events.

Each event is known by what it names (the gateway's dry-run answers say, in the source's own
ids: `course:…`, `degree:…`, `instructor:…`). Events that name a common product are linked, and
linked events form a group; a group goes to one lane whole, and a lane sends its events in file
order, one batch after another. Lanes run concurrently.

What links events:
- a course or a degree (by external id, key or marketing slug) both name — so two versions of a
  product, or a product and a later run of it, keep their order;
- a degree and the courses it lists — a degree after its courses;
- an instructor that an `instructor.upsert` event of the file defines, and the events that name
  it. An instructor only embedded in products links nothing: each product carries its own copy
  of it, as when products are sent by different clients at once.

Groups go to the least-loaded lane, largest first, so lanes stay about even; an event the
gateway could not name (its transform failed) is a group of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog_gateway.events.types import EventType

INSTRUCTOR = "instructor:"


def lanes_of(
    event_types: Sequence[EventType], names: Sequence[Sequence[str]], count: int
) -> list[list[int]]:
    """The events' indexes, split into at most `count` lanes, each in file order."""
    defined = {
        name
        for event_type, named in zip(event_types, names, strict=True)
        if event_type is EventType.INSTRUCTOR_UPSERT
        for name in named
        if name.startswith(INSTRUCTOR)
    }
    groups = _Groups(len(names))
    owner: dict[str, int] = {}
    for index, named in enumerate(names):
        for name in named:
            if name.startswith(INSTRUCTOR) and name not in defined:
                continue
            groups.join(owner.setdefault(name, index), index)
    members: dict[int, list[int]] = {}
    for index in range(len(names)):
        members.setdefault(groups.root(index), []).append(index)
    lanes: list[list[int]] = [[] for _ in range(max(1, count))]
    for group in sorted(members.values(), key=lambda m: (-len(m), m[0])):
        min(lanes, key=len).extend(group)
    return [sorted(lane) for lane in lanes if lane]


class _Groups:
    """Union-find over event indexes."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def root(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def join(self, first: int, second: int) -> None:
        a, b = self.root(first), self.root(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)
