"""The course-run state machine and publication (DESIGN §3: unpublished → reviewed → published;
archived from anywhere; an archived run sent again comes back unpublished)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product

import pytest

import catalog_gateway.migrations.metadata  # noqa: F401  (configures every mapper)
from catalog_gateway.catalog.models import CourseRun, RunStatus
from catalog_gateway.catalog.status import publication_target, publish, transition
from catalog_gateway.errors import ErrorCode, IllegalTransitionError
from tests.factories import at

U, R, P, A = (RunStatus.UNPUBLISHED, RunStatus.REVIEWED, RunStatus.PUBLISHED, RunStatus.ARCHIVED)

ALLOWED = {(U, R), (U, P), (U, A), (R, P), (R, A), (P, A), (A, U)}
ILLEGAL = {(R, U), (P, U), (P, R), (A, R), (A, P)}
NOW = at(2027, 1, 15, 12)


def make_run(status: RunStatus, go_live_date: datetime | None = None) -> CourseRun:
    return CourseRun(key="course-v1:MITx+DS101+1T2027", status=status, go_live_date=go_live_date)


def test_the_pairs_cover_every_move_between_two_different_states() -> None:
    every_move = {(a, b) for a, b in product(RunStatus, RunStatus) if a != b}
    assert every_move == ALLOWED | ILLEGAL
    assert not ALLOWED & ILLEGAL


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_transition_moves_the_run(source: RunStatus, target: RunStatus) -> None:
    run = make_run(source)
    assert transition(run, target) is True
    assert run.status == target


@pytest.mark.parametrize(("source", "target"), sorted(ILLEGAL))
def test_illegal_transition_is_refused_and_leaves_the_run(
    source: RunStatus, target: RunStatus
) -> None:
    run = make_run(source)
    with pytest.raises(IllegalTransitionError) as raised:
        transition(run, target)
    assert raised.value.code == ErrorCode.ILLEGAL_STATUS_TRANSITION
    assert source.value in raised.value.message
    assert target.value in raised.value.message
    assert run.status == source


@pytest.mark.parametrize("status", list(RunStatus))
def test_transition_to_the_current_status_is_a_no_op(status: RunStatus) -> None:
    run = make_run(status)
    assert transition(run, status) is False
    assert run.status == status


@pytest.mark.parametrize("status", [U, R, P])
def test_any_live_status_can_be_archived(status: RunStatus) -> None:
    run = make_run(status)
    assert transition(run, A) is True
    assert run.status == A


def test_publish_before_go_live_marks_the_run_reviewed() -> None:
    run = make_run(U, go_live_date=NOW + timedelta(days=3))
    assert publication_target(run, NOW) == R
    assert publish(run, NOW) is True
    assert run.status == R


def test_publish_after_go_live_publishes() -> None:
    run = make_run(U, go_live_date=NOW - timedelta(seconds=1))
    assert publish(run, NOW) is True
    assert run.status == P


def test_publish_exactly_at_go_live_publishes() -> None:
    run = make_run(U, go_live_date=NOW)
    assert publication_target(run, NOW) == P
    assert publish(run, NOW) is True
    assert run.status == P


def test_publish_without_go_live_date_publishes() -> None:
    run = make_run(U)
    assert publish(run, NOW) is True
    assert run.status == P


def test_publish_moves_a_reviewed_run_to_published_once_live() -> None:
    run = make_run(U, go_live_date=NOW + timedelta(days=1))
    publish(run, NOW)
    assert run.status == R
    assert publish(run, NOW + timedelta(days=2)) is True
    assert run.status == P


def test_publish_again_before_go_live_keeps_a_reviewed_run_reviewed() -> None:
    run = make_run(R, go_live_date=NOW + timedelta(days=1))
    assert publish(run, NOW) is False
    assert run.status == R


def test_publish_never_moves_a_published_run_back_to_reviewed() -> None:
    run = make_run(P, go_live_date=NOW + timedelta(days=30))
    assert publication_target(run, NOW) == R
    assert publish(run, NOW) is False
    assert run.status == P


def test_publish_of_a_published_run_is_a_no_op() -> None:
    run = make_run(P)
    assert publish(run, NOW) is False
    assert run.status == P


def test_publish_refuses_an_archived_run() -> None:
    run = make_run(A)
    with pytest.raises(IllegalTransitionError):
        publish(run, NOW)
    assert run.status == A
