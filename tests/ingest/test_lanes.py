"""Lanes: events linked by what they name go to one lane whole, in file order; groups are spread
over the lanes, largest first, to the least-loaded lane."""

from __future__ import annotations

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.lanes import lanes_of

PRODUCT = EventType.PRODUCT_UPSERT
INSTRUCTOR = EventType.INSTRUCTOR_UPSERT
DEGREE = EventType.DEGREE_UPSERT
COURSE = EventType.COURSE_UPSERT


def product(number: int, *instructors: str) -> list[str]:
    """What a product.upsert of course MITx+DS1<nn> (external id xe-71<nn>) names."""
    return [
        f"course:MITx+DS1{number:02d}",
        f"course:xe-71{number:02d}",
        *(f"instructor:{external_id}" for external_id in instructors),
    ]


def test_two_versions_of_one_course_share_a_lane_in_file_order() -> None:
    names = [product(1), product(2), product(3), product(1)]

    assert lanes_of([PRODUCT] * 4, names, 4) == [[0, 3], [1], [2]]


def test_a_course_named_by_its_key_alone_links_to_its_external_id_s_events() -> None:
    names = [product(1), ["course:MITx+DS101"], product(2), ["course:xe-7101"]]

    assert lanes_of([PRODUCT, COURSE, PRODUCT, COURSE], names, 4) == [[0, 1, 3], [2]]


def test_unrelated_products_spread_over_the_lanes_one_each() -> None:
    names = [product(1), product(2), product(3), product(4)]

    assert lanes_of([PRODUCT] * 4, names, 4) == [[0], [1], [2], [3]]


def test_a_degree_shares_a_lane_with_the_courses_it_lists() -> None:
    degree = [
        "course:MITx+DS101",  # listed by key
        "course:xe-7102",  # listed by external id
        "degree:deg-1",
        "degree:masters-data-science",
    ]
    names = [product(1), product(2), product(3), degree]

    assert lanes_of([PRODUCT, PRODUCT, PRODUCT, DEGREE], names, 4) == [[0, 1, 3], [2]]


def test_a_degree_named_by_its_marketing_slug_links_its_versions() -> None:
    names = [
        ["degree:deg-1", "degree:masters-data-science"],
        ["degree:deg-2"],
        ["degree:deg-9", "degree:masters-data-science"],  # a new external id, the same slug
    ]

    assert lanes_of([DEGREE] * 3, names, 4) == [[0, 2], [1]]


def test_events_are_linked_through_a_chain_of_names() -> None:
    names = [product(1), ["course:xe-7101", "degree:deg-1"], ["degree:deg-1"], product(2)]

    assert lanes_of([PRODUCT, DEGREE, DEGREE, PRODUCT], names, 4) == [[0, 1, 2], [3]]


def test_an_instructor_upsert_of_the_file_links_the_products_naming_that_instructor() -> None:
    names = [["instructor:in-1"], product(1, "in-1"), product(2, "in-1"), product(3, "in-2")]

    assert lanes_of([INSTRUCTOR, PRODUCT, PRODUCT, PRODUCT], names, 4) == [[0, 1, 2], [3]]


def test_an_instructor_upsert_later_in_the_file_links_the_products_before_it() -> None:
    names = [product(1, "in-1"), product(2, "in-1"), ["instructor:in-1"]]

    assert lanes_of([PRODUCT, PRODUCT, INSTRUCTOR], names, 4) == [[0, 1, 2]]


def test_an_instructor_only_embedded_in_products_links_nothing() -> None:
    names = [product(1, "in-1", "in-2"), product(2, "in-1"), product(3, "in-2")]

    assert lanes_of([PRODUCT] * 3, names, 4) == [[0], [1], [2]]


def test_only_an_instructor_upsert_defines_an_instructor() -> None:
    """A product naming `instructor:in-1` does not define it, whatever else it names."""
    names = [product(1, "in-1"), product(2, "in-1"), ["instructor:in-2"], product(3, "in-2")]

    assert lanes_of([PRODUCT, PRODUCT, INSTRUCTOR, PRODUCT], names, 4) == [[2, 3], [0], [1]]


def test_an_event_with_no_names_is_a_group_of_its_own() -> None:
    names: list[list[str]] = [product(1), [], product(1), []]

    assert lanes_of([PRODUCT] * 4, names, 4) == [[0, 2], [1], [3]]
    assert lanes_of([PRODUCT] * 4, names, 2) == [[0, 2], [1, 3]]


def test_one_lane_holds_every_event_in_file_order() -> None:
    names: list[list[str]] = [product(2), product(1), [], product(2), ["instructor:in-1"]]

    assert lanes_of([PRODUCT, PRODUCT, PRODUCT, PRODUCT, INSTRUCTOR], names, 1) == [[0, 1, 2, 3, 4]]


def test_groups_go_largest_first_to_the_least_loaded_lane() -> None:
    # groups: product 1 {0, 2, 5}, product 2 {1, 4}, product 3 {3, 7}, and {6}, {8}, {9}
    numbers = [1, 2, 1, 3, 2, 1, 4, 3, 5, 6]
    names = [product(number) for number in numbers]

    assert lanes_of([PRODUCT] * 10, names, 2) == [[0, 2, 5, 6, 8], [1, 3, 4, 7, 9]]
    assert lanes_of([PRODUCT] * 10, names, 3) == [[0, 2, 5, 9], [1, 4, 6], [3, 7, 8]]


def test_no_lane_is_empty_when_there_are_fewer_groups_than_lanes() -> None:
    names = [product(1), product(1), product(2)]

    assert lanes_of([PRODUCT] * 3, names, 8) == [[0, 1], [2]]
    assert lanes_of([], [], 4) == []
