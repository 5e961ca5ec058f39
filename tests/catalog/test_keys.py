"""Catalog keys: course keys, run terms and the letter suffixes that tell clashing runs apart."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

import pytest

from catalog_gateway.catalog.keys import course_key, course_run_key, letter_suffixes, run_term

COURSE = "MITx+DS101"
START = datetime(2027, 2, 1, tzinfo=UTC)
BASE_KEY = "course-v1:MITx+DS101+1T2027"


@pytest.mark.parametrize(
    ("month", "term"),
    [
        (1, "1T2027"),
        (2, "1T2027"),
        (3, "1T2027"),
        (4, "1T2027"),
        (5, "2T2027"),
        (6, "2T2027"),
        (7, "2T2027"),
        (8, "2T2027"),
        (9, "3T2027"),
        (10, "3T2027"),
        (11, "3T2027"),
        (12, "3T2027"),
    ],
)
def test_run_term_is_the_third_of_the_year_of_the_start_month(month: int, term: str) -> None:
    assert run_term(datetime(2027, month, 15, tzinfo=UTC)) == term


@pytest.mark.parametrize(
    ("start", "term"),
    [
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "1T2027"),
        (datetime(2027, 4, 30, 23, 59, 59, tzinfo=UTC), "1T2027"),
        (datetime(2027, 5, 1, 0, 0, tzinfo=UTC), "2T2027"),
        (datetime(2027, 8, 31, 23, 59, 59, tzinfo=UTC), "2T2027"),
        (datetime(2027, 9, 1, 0, 0, tzinfo=UTC), "3T2027"),
        (datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC), "3T2027"),
        (datetime(2028, 1, 1, 0, 0, tzinfo=UTC), "1T2028"),
    ],
)
def test_run_term_changes_exactly_at_the_month_boundaries(start: datetime, term: str) -> None:
    assert run_term(start) == term


def test_run_term_uses_the_year_of_the_start() -> None:
    assert run_term(datetime(1999, 10, 1, tzinfo=UTC)) == "3T1999"
    assert run_term(datetime(2031, 6, 1, tzinfo=UTC)) == "2T2031"


def test_course_key_joins_organization_and_number_with_a_plus() -> None:
    assert course_key("MITx", "6.00x") == "MITx+6.00x"
    assert course_key("HarvardX", "CS50") == "HarvardX+CS50"


def test_course_key_keeps_the_case_and_punctuation_of_its_parts() -> None:
    assert course_key("Org.Name_1", "a-B.c_9") == "Org.Name_1+a-B.c_9"


def test_letter_suffixes_go_from_a_to_z_then_aa_ab() -> None:
    suffixes = list(islice(letter_suffixes(), 30))
    assert suffixes[:26] == list("abcdefghijklmnopqrstuvwxyz")
    assert suffixes[26:30] == ["aa", "ab", "ac", "ad"]


def test_letter_suffixes_continue_with_three_letters_after_zz() -> None:
    suffixes = list(islice(letter_suffixes(), 26 + 26 * 26 + 2))
    assert suffixes[26 + 26 * 26 - 1] == "zz"
    assert suffixes[-2:] == ["aaa", "aab"]
    assert len(set(suffixes)) == len(suffixes)


def test_course_run_key_is_the_base_key_when_free() -> None:
    assert course_run_key(COURSE, START, lambda key: False) == BASE_KEY


def test_course_run_key_uses_the_term_of_the_start() -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    assert course_run_key(COURSE, start, lambda key: False) == "course-v1:MITx+DS101+3T2026"


def test_course_run_key_adds_a_on_the_first_clash() -> None:
    assert course_run_key(COURSE, START, {BASE_KEY}.__contains__) == BASE_KEY + "a"


@pytest.mark.parametrize("taken_suffixes", [1, 2, 13, 25])
def test_course_run_key_takes_the_next_free_letter(taken_suffixes: int) -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    taken = {BASE_KEY} | {BASE_KEY + letter for letter in letters[:taken_suffixes]}
    expected = BASE_KEY + letters[taken_suffixes]
    assert course_run_key(COURSE, START, taken.__contains__) == expected


def test_course_run_key_goes_to_z_then_aa() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    up_to_y = {BASE_KEY} | {BASE_KEY + letter for letter in letters[:-1]}
    assert course_run_key(COURSE, START, up_to_y.__contains__) == BASE_KEY + "z"
    up_to_z = up_to_y | {BASE_KEY + "z"}
    assert course_run_key(COURSE, START, up_to_z.__contains__) == BASE_KEY + "aa"


def test_course_run_key_fills_a_gap_before_later_suffixes() -> None:
    taken = {BASE_KEY, BASE_KEY + "a", BASE_KEY + "c"}
    assert course_run_key(COURSE, START, taken.__contains__) == BASE_KEY + "b"


def test_course_run_key_asks_only_about_keys_of_its_course_and_term() -> None:
    asked: list[str] = []

    def is_taken(key: str) -> bool:
        asked.append(key)
        return key in {BASE_KEY, BASE_KEY + "a"}

    assert course_run_key(COURSE, START, is_taken) == BASE_KEY + "b"
    assert asked == [BASE_KEY, BASE_KEY + "a", BASE_KEY + "b"]


def test_clashes_in_another_term_do_not_add_a_suffix() -> None:
    taken = {"course-v1:MITx+DS101+2T2027", "course-v1:MITx+DS101+1T2026"}
    assert course_run_key(COURSE, START, taken.__contains__) == BASE_KEY
