"""Writing what changed in a `CatalogState` with SQLAlchemy Core, in bulk.

The diff is plain Python: a row without `saved` is new, a row whose columns differ from `saved`
changed, a child no longer in its parent's list is gone. Then, per table and in dependency order
(instructors, courses, their subjects, runs, seats, staff, degrees, their courses): one DELETE,
one INSERT (`executemany`; the new ids come back through RETURNING, matched by uuid) and one
UPDATE per set of changed columns. The number of statements depends on what kinds of change
there are, not on how many rows changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Delete,
    Insert,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    insert,
)
from sqlalchemy import update as update_statement

from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    CourseSubject,
    Degree,
    DegreeCourse,
    Instructor,
    RunStaff,
    Seat,
)
from catalog_gateway.catalog.state import (
    CatalogState,
    CourseRow,
    DegreeRow,
    InstructorRow,
    Row,
    RunRow,
)
from catalog_gateway.db.base import table_of

EntityT = TypeVar("EntityT", InstructorRow, CourseRow, RunRow, DegreeRow)


def write(state: CatalogState, connection: Connection) -> None:
    """Write everything the state holds that is not stored as it is; then it is."""
    made = state.made()
    _entities(connection, _INSTRUCTORS, state.all_instructors(), made)
    courses = state.all_courses()
    _entities(connection, _COURSES, courses, made)
    _links(
        connection,
        _SUBJECTS,
        [(_id(c), c.subjects, c.saved_subjects) for c in courses if c.subjects != c.saved_subjects],
        lambda subject: {"subject": subject},
    )
    runs = [run for course in courses for run in course.runs]
    _entities(connection, _RUNS, runs, made, parent=lambda run: {"course_id": _id(run.course)})
    _seats(connection, runs, made)
    _links(
        connection,
        _STAFF,
        [(_id(r), r.staff, r.saved_staff) for r in runs if r.staff != r.saved_staff],
        lambda instructor: {"instructor_id": _id(instructor)},
    )
    degrees = state.all_degrees()
    _entities(connection, _DEGREES, degrees, made)
    _links(
        connection,
        _DEGREE_COURSES,
        [(_id(d), d.courses, d.saved_courses) for d in degrees if d.courses != d.saved_courses],
        lambda course: {"course_id": _id(course)},
    )
    state.stored()


class _Table:
    """A table and its statements (built once; UPDATEs per set of columns, as met)."""

    def __init__(self, model: Any, parent_key: str | None = None) -> None:
        self.table: Table = table_of(model)
        self.parent_key = parent_key
        self.updates: dict[tuple[tuple[str, ...], tuple[str, ...]], Update] = {}

    def insert(self, returning: bool) -> Insert:
        statement = insert(self.table)
        if returning:
            return statement.returning(self.table.c.id, self.table.c.uuid)
        return statement

    def update(self, columns: tuple[str, ...], where: Sequence[str] = ("id",)) -> Update:
        """UPDATE … SET `columns` WHERE `where` (parameters: `v_<column>`, `k_<column>`)."""
        known = self.updates.get((columns, tuple(where)))
        if known is None:
            table = self.table
            known = (
                update_statement(table)
                .where(and_(*(table.c[name] == bindparam(f"k_{name}") for name in where)))
                .values(
                    {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in columns}
                )
            )
            self.updates[(columns, tuple(where))] = known
        return known


_INSTRUCTORS = _Table(Instructor)
_COURSES = _Table(Course)
_SUBJECTS = _Table(CourseSubject, "course_id")
_RUNS = _Table(CourseRun)
_SEAT_TABLE = _Table(Seat)
_STAFF = _Table(RunStaff, "run_id")
_DEGREES = _Table(Degree)
_DEGREE_COURSES = _Table(DegreeCourse, "degree_id")
_SEAT_KEY = ("run_id", "type", "currency")
_DELETE_SEATS: Delete = delete(_SEAT_TABLE.table).where(
    and_(*(_SEAT_TABLE.table.c[name] == bindparam(f"k_{name}") for name in _SEAT_KEY))
)


def _entities(
    connection: Connection,
    table: _Table,
    rows: Sequence[EntityT],
    made: dict[int, int],
    parent: Callable[[EntityT], dict[str, Any]] | None = None,
) -> None:
    """INSERT the new rows, in the order they were made (their ids set from RETURNING), and
    UPDATE the changed ones."""
    new = sorted((row for row in rows if row.saved is None), key=lambda row: made[id(row)])
    if new:
        values = []
        for row in new:
            columns = row.columns()
            del columns["id"]
            values.append(columns | (parent(row) if parent else {}))
        ids = {uuid: id_ for id_, uuid in connection.execute(table.insert(True), values)}
        for row in new:
            row.id = ids[row.uuid]
    _updates(connection, table, [(row, {"k_id": row.id}) for row in rows if row.saved is not None])


def _updates(
    connection: Connection,
    table: _Table,
    rows: Sequence[tuple[Row, dict[str, Any]]],
    where: Sequence[str] = ("id",),
) -> None:
    """One UPDATE per set of changed columns, for every row that changed."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row, key in rows:
        changed = row.changed()
        if changed:
            names = tuple(sorted(changed))
            groups[names].append(key | {f"v_{name}": changed[name] for name in names})
    for names, parameters in groups.items():
        connection.execute(table.update(names, where), parameters)


def _seats(connection: Connection, runs: Sequence[RunRow], made: dict[int, int]) -> None:
    """Seats are written by (run, type, currency): those gone, the new ones (in the order they
    were made), the changed ones."""
    gone: list[dict[str, Any]] = []
    new: list[tuple[int, dict[str, Any]]] = []
    kept: list[tuple[Row, dict[str, Any]]] = []
    for run in runs:
        run_id = _id(run)
        current = {id(seat) for seat in run.seats}
        gone.extend(
            {"k_run_id": run_id, "k_type": seat.type, "k_currency": seat.currency}
            for seat in run.saved_seats
            if id(seat) not in current
        )
        for seat in run.seats:
            if seat.saved is None:
                new.append((made[id(seat)], seat.columns() | {"run_id": run_id}))
            else:
                key = {"k_run_id": run_id, "k_type": seat.saved["type"]}
                kept.append((seat, key | {"k_currency": seat.saved["currency"]}))
    if gone:
        connection.execute(_DELETE_SEATS, gone)
    if new:
        connection.execute(_SEAT_TABLE.insert(False), [values for _, values in sorted(new)])
    _updates(connection, _SEAT_TABLE, kept, _SEAT_KEY)


def _links(
    connection: Connection,
    table: _Table,
    parents: Sequence[tuple[int, Sequence[Any], Sequence[Any] | None]],
    value: Callable[[Any], dict[str, Any]],
) -> None:
    """Ordered links (subjects, staff, a degree's courses) that changed are written again."""
    if not parents:
        return
    assert table.parent_key is not None
    column = table.table.c[table.parent_key]
    stored = [parent_id for parent_id, _, saved in parents if saved]
    if stored:
        connection.execute(delete(table.table).where(column.in_(stored)))
    rows = [
        {table.parent_key: parent_id, "position": position} | value(item)
        for parent_id, items, _ in parents
        for position, item in enumerate(items)
    ]
    if rows:
        connection.execute(table.insert(False), rows)


def _id(row: InstructorRow | CourseRow | RunRow | DegreeRow) -> int:
    if row.id is None:
        raise RuntimeError(f"a {type(row).__name__} was used before it was written")
    return row.id
