"""Subjects are operator-managed reference data (issue 14, point 1): reference values are matched
loosely (`reference_key`), the vocabulary resolves a subject or level by its slug or English name
however it is written, and `create_subject` / `rename_subject` refuse what would make two
subjects match the same text. Database tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from catalog_gateway.catalog.changes import Action
from catalog_gateway.catalog.reference import Subject
from catalog_gateway.catalog.subjects import create_subject, list_subjects, rename_subject
from catalog_gateway.catalog.vocabulary import Vocabulary, load_vocabulary, reference_key
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ConflictError, ErrorCode, InvalidValueError, NotFoundError
from tests.conftest import subjects_put_back

# ---------------------------------------------------------------------------------------------
# Subjects are reference data: the `database` fixture does not empty them between tests, so each
# test here puts them back as it found them.


@pytest.fixture
def subjects_restored(database: Database) -> Iterator[dict[str, str]]:
    """The subjects as the migration seeded them (slug → name); put back after the test (data
    rows first: a course may refer to a subject the test created)."""
    with subjects_put_back(database) as before:
        yield before


def subjects_now(database: Database) -> dict[str, str]:
    with database.read() as session:
        return dict(session.execute(select(Subject.slug, Subject.name)).all())


def vocabulary_of(subjects: dict[str, str], levels: dict[str, str] | None = None) -> Vocabulary:
    """A vocabulary with only these subjects and levels (slug → name)."""
    level_names = (
        {"introductory": "Introductory", "intermediate": "Intermediate", "advanced": "Advanced"}
        if levels is None
        else levels
    )
    return Vocabulary(
        run_types_by_course_type={},
        seat_types_by_run_type={},
        paid_seat_types=frozenset(),
        seat_types=frozenset(),
        subjects=subjects,
        levels=frozenset(level_names),
        program_types=frozenset(),
        level_names=level_names,
    )


SEEDED = {
    "art-culture": "Art & Culture",
    "data-analysis-statistics": "Data Analysis & Statistics",
    "computer-science": "Computer Science",
    "design": "Design",
    "ethics": "Ethics",
    "philosophy-ethics": "Philosophy & Ethics",
}


# ---------------------------------------------------------------------------------------------
# reference_key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Art & Culture", "art and culture"),
        ("art and culture", "art and culture"),
        ("art-and-culture", "art and culture"),
        ("ART&CULTURE", "art and culture"),
        ("art-culture", "art culture"),
        ("Data Analysis & Statistics", "data analysis and statistics"),
        ("DATA-ANALYSIS-STATISTICS", "data analysis statistics"),
        ("  Économie   —  Société!  ", "economie societe"),
        ("Ciência da Computação", "ciencia da computacao"),
        ("Straße", "strasse"),
        ("snake_case/slashes.dots", "snake case slashes dots"),
        ("R&D", "r and d"),
        ("Level 2: Advanced", "level 2 advanced"),
        ("&", "and"),
        ("", ""),
        ("  ", ""),
        ("___ --- !!!", ""),
    ],
)
def test_reference_key_folds_case_accents_punctuation_and_ampersands(text: str, key: str) -> None:
    assert reference_key(text) == key


def test_reference_key_of_a_key_is_itself() -> None:
    for text in ("Art & Culture", "  Économie — Société ", "R&D", "snake_case"):
        assert reference_key(reference_key(text)) == reference_key(text)


# ---------------------------------------------------------------------------------------------
# Vocabulary.resolve_subject / resolve_level, on a vocabulary built here


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("data-analysis-statistics", "data-analysis-statistics"),
        ("Data Analysis & Statistics", "data-analysis-statistics"),
        ("Data Analysis and Statistics", "data-analysis-statistics"),
        ("data analysis & statistics", "data-analysis-statistics"),
        ("DATA-ANALYSIS-STATISTICS", "data-analysis-statistics"),
        ("  data   analysis,  statistics ", "data-analysis-statistics"),
        ("art-culture", "art-culture"),
        ("Art & Culture", "art-culture"),
        ("art and culture", "art-culture"),
        ("ART-AND-CULTURE", "art-culture"),
        ("Art Culture", "art-culture"),
        ("Computer Science", "computer-science"),
        ("computer_science", "computer-science"),
        ("Ethics", "ethics"),
        ("Philosophy and Ethics", "philosophy-ethics"),
        ("Désign", "design"),
    ],
)
def test_resolve_subject_by_slug_or_name_written_loosely(text: str, slug: str) -> None:
    assert vocabulary_of(SEEDED).resolve_subject(text) == slug


@pytest.mark.parametrize(
    "text",
    [
        "Data Analysis",
        "Statistics",
        "Art",
        "Culture & Art",
        "Design and Marketing",
        "computer-sciences",
        "",
        "   ",
        "&",
    ],
)
def test_resolve_subject_of_an_unknown_subject_is_none(text: str) -> None:
    assert vocabulary_of(SEEDED).resolve_subject(text) is None


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("introductory", "introductory"),
        ("Introductory", "introductory"),
        ("INTERMEDIATE", "intermediate"),
        (" advanced. ", "advanced"),
        ("Advanced!", "advanced"),
    ],
)
def test_resolve_level_by_slug_or_name_written_loosely(text: str, slug: str) -> None:
    assert vocabulary_of(SEEDED).resolve_level(text) == slug


@pytest.mark.parametrize("text", ["beginner", "Expert", "intro", "", "all levels"])
def test_resolve_level_of_an_unknown_level_is_none(text: str) -> None:
    assert vocabulary_of(SEEDED).resolve_level(text) is None


def test_a_level_is_resolved_by_its_name_when_it_differs_from_its_slug() -> None:
    vocabulary = vocabulary_of({}, {"introductory": "Beginner Friendly", "advanced": "Advanced"})

    assert vocabulary.resolve_level("beginner-friendly") == "introductory"
    assert vocabulary.resolve_level("Beginner friendly") == "introductory"
    assert vocabulary.resolve_level("Introductory") == "introductory"
    assert vocabulary.resolve_level("intermediate") is None


def test_a_subject_is_resolved_by_its_name_when_it_differs_from_its_slug() -> None:
    vocabulary = vocabulary_of({"mktg": "Design and Marketing"})

    assert vocabulary.resolve_subject("mktg") == "mktg"
    assert vocabulary.resolve_subject("MKTG") == "mktg"
    assert vocabulary.resolve_subject("design & marketing") == "mktg"
    assert vocabulary.resolve_subject("design-and-marketing") == "mktg"
    assert vocabulary.resolve_subject("Design Marketing") is None


def test_the_seeded_vocabulary_resolves_names_on_the_database(database: Database) -> None:
    with database.read() as session:
        vocabulary = load_vocabulary(session)

    assert vocabulary.resolve_subject("Data Analysis and Statistics") == (
        "data-analysis-statistics"
    )
    assert vocabulary.resolve_subject("data analysis & statistics") == "data-analysis-statistics"
    assert vocabulary.resolve_subject("DATA-ANALYSIS-STATISTICS") == "data-analysis-statistics"
    assert vocabulary.resolve_subject("Art & Culture") == "art-culture"
    assert vocabulary.resolve_subject("art-culture") == "art-culture"
    assert vocabulary.resolve_subject("Economics and Finance") == "economics-finance"
    assert vocabulary.resolve_subject("Underwater Basket Weaving") is None
    assert vocabulary.resolve_level("Intermediate") == "intermediate"
    assert vocabulary.resolve_level("beginner") is None
    assert vocabulary.level_names == {
        "introductory": "Introductory",
        "intermediate": "Intermediate",
        "advanced": "Advanced",
    }


# ---------------------------------------------------------------------------------------------
# create_subject


def test_create_subject_creates_it(database: Database, subjects_restored: dict[str, str]) -> None:
    with database.unit_of_work() as session:
        result = create_subject(session, "design-and-marketing", "Design and Marketing")
        assert result.action is Action.CREATED
        assert (result.entity.slug, result.entity.name) == (
            "design-and-marketing",
            "Design and Marketing",
        )

    assert subjects_now(database) == subjects_restored | {
        "design-and-marketing": "Design and Marketing"
    }
    with database.read() as session:
        vocabulary = load_vocabulary(session)
        listed = [subject.slug for subject in list_subjects(session)]
    assert vocabulary.resolve_subject("design & marketing") == "design-and-marketing"
    assert listed == sorted([*subjects_restored, "design-and-marketing"])


def test_create_subject_collapses_the_names_whitespace(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        result = create_subject(session, "design-and-marketing", "  Design \t and   Marketing ")

    assert result.action is Action.CREATED
    assert subjects_now(database)["design-and-marketing"] == "Design and Marketing"


def test_create_subject_is_idempotent_with_the_same_name(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        create_subject(session, "design-and-marketing", "Design and Marketing")
    with database.unit_of_work() as session:
        again = create_subject(session, "design-and-marketing", "Design  and Marketing")
        seeded = create_subject(session, "art-culture", "Art & Culture")

    assert again.action is Action.UNCHANGED
    assert again.entity.name == "Design and Marketing"
    assert seeded.action is Action.UNCHANGED
    assert subjects_now(database) == subjects_restored | {
        "design-and-marketing": "Design and Marketing"
    }


def test_create_subject_with_another_name_is_a_conflict(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        create_subject(session, "design-and-marketing", "Design and Marketing")

    for name in ("Marketing and Design", "design and marketing", "Design & Marketing"):
        with pytest.raises(ConflictError) as raised, database.unit_of_work() as session:
            create_subject(session, "design-and-marketing", name)
        assert raised.value.code is ErrorCode.SUBJECT_EXISTS
        assert raised.value.field == "slug"
        assert raised.value.message == (
            "subject design-and-marketing exists, named 'Design and Marketing'; rename it with "
            f"`catalog-gateway subjects rename design-and-marketing --name {name!r}`"
        )
    assert subjects_now(database)["design-and-marketing"] == "Design and Marketing"


@pytest.mark.parametrize(
    ("slug", "name", "other"),
    [
        # the new name folds to another subject's name
        ("art-and-culture-2", "art and culture", "art-culture"),
        ("arts", "ART & CULTURE", "art-culture"),
        ("data", "Data Analysis and Statistics", "data-analysis-statistics"),
        # the new name folds to another subject's slug
        ("cs", "Computer-Science", "computer-science"),
        ("art-c", "Art Culture", "art-culture"),
        # the new slug folds to another subject's name
        ("art-and-culture", "Arts", "art-culture"),
        ("data-analysis-and-statistics", "Numbers", "data-analysis-statistics"),
    ],
)
def test_create_subject_matched_by_another_subjects_names_is_a_conflict(
    database: Database, subjects_restored: dict[str, str], slug: str, name: str, other: str
) -> None:
    with pytest.raises(ConflictError) as raised, database.unit_of_work() as session:
        create_subject(session, slug, name)

    assert raised.value.code is ErrorCode.SUBJECT_EXISTS
    assert raised.value.field == "name"
    assert raised.value.message.startswith(
        f"subject {other} ({subjects_restored[other]!r}) would be matched by the same names as "
        f"{slug} ({' '.join(name.split())!r}); "
    )
    assert subjects_now(database) == subjects_restored


def test_create_subject_refuses_a_name_folding_to_a_created_subjects(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        create_subject(session, "design-and-marketing", "Design and Marketing")

    with pytest.raises(ConflictError) as raised, database.unit_of_work() as session:
        create_subject(session, "design-marketing", "Design & Marketing")

    assert raised.value.code is ErrorCode.SUBJECT_EXISTS
    assert subjects_now(database) == subjects_restored | {
        "design-and-marketing": "Design and Marketing"
    }


@pytest.mark.parametrize(
    "slug",
    [
        "Design-And-Marketing",
        "design_and_marketing",
        "design and marketing",
        "design--marketing",
        "-design",
        "design-",
        "désign",
        "",
        "a" * 65,
    ],
)
def test_create_subject_with_a_bad_slug_is_an_invalid_request(
    database: Database, subjects_restored: dict[str, str], slug: str
) -> None:
    with pytest.raises(InvalidValueError) as raised, database.unit_of_work() as session:
        create_subject(session, slug, "Design and Marketing")

    assert raised.value.code is ErrorCode.INVALID_REQUEST
    assert raised.value.field == "slug"
    assert raised.value.message == (
        f"subject slug {slug!r} must be lower-case words of a-z and 0-9 joined by '-', "
        "at most 64 characters (e.g. design-and-marketing)"
    )
    assert subjects_now(database) == subjects_restored


def test_create_subject_accepts_a_slug_of_64_characters_and_digits(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    slug = "a" * 60 + "-3d2"
    with database.unit_of_work() as session:
        result = create_subject(session, slug, "Sixty Four")

    assert result.action is Action.CREATED
    assert subjects_now(database)[slug] == "Sixty Four"


@pytest.mark.parametrize("name", ["", "   ", "---", "x" * 256])
def test_create_subject_with_a_bad_name_is_an_invalid_request(
    database: Database, subjects_restored: dict[str, str], name: str
) -> None:
    with pytest.raises(InvalidValueError) as raised, database.unit_of_work() as session:
        create_subject(session, "design-and-marketing", name)

    assert raised.value.code is ErrorCode.INVALID_REQUEST
    assert raised.value.field == "name"
    assert subjects_now(database) == subjects_restored


# ---------------------------------------------------------------------------------------------
# rename_subject


def test_rename_subject_changes_the_name_and_keeps_the_slug(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        renamed = rename_subject(session, "art-culture", "Arts and Culture")

    assert renamed.action is Action.UPDATED
    assert (renamed.entity.slug, renamed.entity.name) == ("art-culture", "Arts and Culture")
    assert subjects_now(database) == subjects_restored | {"art-culture": "Arts and Culture"}
    with database.read() as session:
        vocabulary = load_vocabulary(session)
    assert vocabulary.resolve_subject("arts & culture") == "art-culture"
    assert vocabulary.resolve_subject("Art & Culture") is None  # the old name is gone
    assert vocabulary.resolve_subject("art-culture") == "art-culture"  # the slug stays


def test_rename_subject_to_its_own_name_is_unchanged(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        result = rename_subject(session, "art-culture", " Art  & Culture ")

    assert result.action is Action.UNCHANGED
    assert subjects_now(database) == subjects_restored


def test_rename_subject_may_fold_to_its_own_slug_or_name(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with database.unit_of_work() as session:
        result = rename_subject(session, "art-culture", "Art and Culture")

    assert result.action is Action.UPDATED
    assert subjects_now(database)["art-culture"] == "Art and Culture"


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Computer Science", "computer-science"),
        ("computer-science", "computer-science"),
        ("Data Analysis and Statistics", "data-analysis-statistics"),
        ("ETHICS", "ethics"),
    ],
)
def test_rename_subject_to_a_name_matching_another_subject_is_a_conflict(
    database: Database, subjects_restored: dict[str, str], name: str, other: str
) -> None:
    with pytest.raises(ConflictError) as raised, database.unit_of_work() as session:
        rename_subject(session, "art-culture", name)

    assert raised.value.code is ErrorCode.SUBJECT_EXISTS
    assert raised.value.field == "name"
    assert raised.value.message.startswith(f"subject {other} ({subjects_restored[other]!r}) ")
    assert subjects_now(database) == subjects_restored


def test_rename_an_unknown_subject_is_not_found(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with pytest.raises(NotFoundError) as raised, database.unit_of_work() as session:
        rename_subject(session, "underwater-basket-weaving", "Baskets")

    assert raised.value.code is ErrorCode.UNKNOWN_SUBJECT
    assert raised.value.message == (
        "no subject 'underwater-basket-weaving' (`catalog-gateway subjects list` shows them)"
    )
    assert subjects_now(database) == subjects_restored


def test_rename_subject_with_a_bad_name_is_an_invalid_request(
    database: Database, subjects_restored: dict[str, str]
) -> None:
    with pytest.raises(InvalidValueError) as raised, database.unit_of_work() as session:
        rename_subject(session, "art-culture", " - ")

    assert raised.value.code is ErrorCode.INVALID_REQUEST
    assert raised.value.field == "name"
    assert subjects_now(database) == subjects_restored
