"""The pure helpers the LoB hooks share: languages, subjects, effort and staff known by name."""

from __future__ import annotations

import pytest

from catalog_gateway.catalog.fields import LanguageTag
from catalog_gateway.transformers.builtin.values import (
    effort_range,
    language_tag,
    normalised_name,
    split_person_name,
    staff_external_id,
    subject_slug,
)


@pytest.mark.parametrize(
    ("written", "tag"),
    [
        ("English", "en"),
        ("english", "en"),
        ("Español", "es"),
        ("Spanish", "es"),
        ("Français", "fr"),
        ("English - United States", "en-US"),
        ("English - Great Britain", "en-GB"),
        ("Spanish - Latin America", "es-419"),
        ("Spanish (Latin America)", "es-419"),
        ("Portuguese - Brazil", "pt-BR"),
        ("Chinese - Simplified", "zh-Hans"),
        ("  English  -  United States ", "en-US"),
        ("en-us", "en-US"),
        ("en_US", "en-US"),
        ("es-419", "es-419"),
        ("EN", "en"),
    ],
)
def test_language_names_and_tags_become_ietf_tags(written: str, tag: str) -> None:
    assert language_tag(written) == tag


def test_a_qualifier_that_is_no_region_or_script_keeps_the_language() -> None:
    assert language_tag("Chinese - Mandarin") == "zh"


@pytest.mark.parametrize("written", ["", "   ", None, "xx", "Not a language at all 42"])
def test_text_that_names_no_language_has_no_tag(written: str | None) -> None:
    assert language_tag(written) is None


def test_every_tag_found_is_accepted_by_the_canonical_language_field() -> None:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[str] = TypeAdapter(LanguageTag)
    for written in ["English - United States", "Spanish - Latin America", "Español", "en-us"]:
        tag = language_tag(written)
        assert tag is not None
        assert adapter.validate_python(tag) == tag


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Data Analysis & Statistics", "data-analysis-statistics"),
        ("Art & Culture", "art-culture"),
        ("Computer Science", "computer-science"),
        ("  Business   &  Management ", "business-management"),
        ("Math", "math"),
        ("computer-science", "computer-science"),
    ],
)
def test_subject_names_become_catalog_slugs(name: str, slug: str) -> None:
    assert subject_slug(name) == slug


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("7\u201310 hours per week", (7, 10)),  # an en dash
        ("7 - 10 hours per week", (7, 10)),
        ("7-10 hours per week", (7, 10)),
        ("7\u201410 hours", (7, 10)),  # an em dash
        ("8 to 10 hours per week", (8, 10)),
        ("7 hours per week", (7, 7)),
        ("4-6 horas por semana", (4, 6)),
        ("4 a 6 horas por semana", (4, 6)),
        ("Approximately 5 hours/week", (5, 5)),
        ("1.5 - 2.5 hours per week", (2, 3)),
        ("10-7 hours per week", (7, 10)),
    ],
)
def test_effort_texts_give_hours_per_week(text: str, hours: tuple[int, int]) -> None:
    assert effort_range(text) == hours


@pytest.mark.parametrize("text", ["", None, "Self-paced", "Flexible, at your own pace"])
def test_effort_text_without_numbers_gives_no_effort(text: str | None) -> None:
    assert effort_range(text) is None


def test_a_name_written_differently_gives_the_same_staff_id() -> None:
    assert staff_external_id("José  Martínez") == "staff-jose-martinez"
    assert staff_external_id("jose martinez") == "staff-jose-martinez"
    assert staff_external_id(" JOSÉ MARTÍNEZ ") == "staff-jose-martinez"


def test_different_people_get_different_staff_ids() -> None:
    assert staff_external_id("Ada Lovelace") != staff_external_id("Ada Byron")


def test_a_name_without_latin_letters_gets_a_stable_digest_id() -> None:
    staff_id = staff_external_id("李小龙")
    assert staff_id.startswith("staff-")
    assert len(staff_id) == len("staff-") + 16
    assert staff_id == staff_external_id(" 李小龙 ")


def test_normalised_names_fold_accents_case_and_spaces() -> None:
    assert normalised_name("  Zoë   SALDAÑA ") == "zoe saldana"


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Gabriel García Márquez", ("Gabriel", "García Márquez")),
        ("Juan de la Cruz", ("Juan", "de la Cruz")),
        ("David J. Malan", ("David J.", "Malan")),
        ("John F Kennedy", ("John F", "Kennedy")),
        ("Plato", ("Plato", None)),
    ],
)
def test_full_names_split_into_given_and_family_names(
    name: str, parts: tuple[str, str | None]
) -> None:
    assert split_person_name(name) == parts
