"""Operator-managed subjects and per-source value aliases through HTTP and the command line
(issue 14, point 1): a subject the catalog does not know is refused at its field with the two
commands that fix it; once an operator creates the subject or aliases the source's value, the
same product applies. Each test runs on SQLite and on PostgreSQL.

The gateway re-reads subjects and aliases once they are older than `auth_cache_seconds`; most
tests here use an app with 0 (read on every request), one shows that a longer cache hides a new
alias and a new subject until it expires.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog_gateway.api.app import create_app
from catalog_gateway.catalog.models import Course, CourseRun, Instructor
from catalog_gateway.catalog.reference import Subject
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from catalog_gateway.sources.models import SourceValueAlias
from tests.conftest import subjects_put_back
from tests.factories import url_of
from tests.gateway.conftest import Api, Cli, Keys
from tests.gateway.payloads import (
    bootcamp_product_payload,
    envelope,
    occurred,
    product_payload,
    run_payload,
)

ApiFactory = Callable[..., Api]

DESIGN_AND_MARKETING = "design-and-marketing"


def unknown_subject_message(source: str, shown: str) -> str:
    """What the gateway says of a subject it does not know."""
    return (
        f"unknown subject {shown!r}: an operator can add it (`catalog-gateway subjects create "
        f'SLUG --name "{shown}"`) or alias this source\'s value to a catalog subject '
        f'(`catalog-gateway sources map-value {source} subject "{shown}" CATALOG_VALUE`)'
    )


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(autouse=True)
def subjects_restored(database: Database) -> Iterator[dict[str, str]]:
    """Subjects are reference data, not emptied between tests: put them back as the migration
    seeded them (after the data rows, which may refer to a subject a test created)."""
    with subjects_put_back(database) as before:
        yield before


@pytest.fixture
def make_api(database: Database, keys: Keys) -> Iterator[ApiFactory]:
    """Clients of the service with a chosen `auth_cache_seconds`; closed at the end."""
    clients: list[TestClient] = []

    def build(auth_cache_seconds: float = 0) -> Api:
        settings = Settings(
            database_url=url_of(database), auth_cache_seconds=auth_cache_seconds, redis_url=None
        )
        client = TestClient(create_app(settings, database))
        client.__enter__()
        clients.append(client)
        return Api(client=client, database=database, keys=keys)

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def fresh(make_api: ApiFactory) -> Api:
    """The service reading subjects and aliases on every request (`auth_cache_seconds=0`)."""
    return make_api(0)


def ok(run_cli: Cli, *args: str) -> str:
    """Run a command that must succeed; its standard output."""
    result = run_cli(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def fails(run_cli: Cli, *args: str) -> str:
    """Run a command that must fail cleanly with exit 1; its standard error."""
    result = run_cli(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    return result.stderr


def create_design_and_marketing(run_cli: Cli) -> None:
    assert ok(
        run_cli, "subjects", "create", DESIGN_AND_MARKETING, "--name", "Design and Marketing"
    ) == ("subject design-and-marketing (Design and Marketing) created\n")


def with_subject(subject: str) -> dict[str, Any]:
    """The exec-ed product with one subject."""
    return product_payload(subjects=[subject])


def bootcamp_with_subject(subject: str) -> dict[str, Any]:
    product = bootcamp_product_payload()
    product["course"]["subjects"] = [subject]
    return product


def send(api: Api, event_id: str, payload: dict[str, Any], hours: float = 0, **kw: Any) -> Any:
    return api.send(envelope(event_id, payload, occurred_at=occurred(hours)), **kw)


def errors(answer: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(e["code"], e["path"], e["source_path"]) for e in answer["errors"]]


def assert_unknown_subject(
    response: Any, shown: str, source: str = "exec-ed", path: str = "/course/subjects/0"
) -> None:
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    assert errors(answer) == [("unknown_subject", path, path)]
    [error] = answer["errors"]
    assert error["step"] == "validate"
    assert error["message"] == unknown_subject_message(source, shown)
    assert [(step["name"], step["status"]) for step in answer["steps"]] == [
        ("transform", "ok"),
        ("validate", "failed"),
    ]


def assert_applied(response: Any, status: str = "applied") -> dict[str, Any]:
    """The event was accepted with this status (`applied`, or `unchanged` when it would change
    nothing)."""
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == status
    assert answer["errors"] == []
    return answer


def course_action(answer: dict[str, Any]) -> str:
    [step] = [s for s in answer["steps"] if s["name"] == "course.upsert"]
    action: str = step["action"]
    return action


def subjects_of(api: Api, key: str = "MITx+DS101") -> list[str]:
    course = api.course(key)
    assert course is not None
    subjects: list[str] = course["subjects"]
    return subjects


# ---------------------------------------------------------------------------------------------
# Unknown subjects, then created


def test_an_unknown_subject_is_refused_at_its_field_and_writes_nothing(fresh: Api) -> None:
    response = send(fresh, "dm-1", with_subject("Design and Marketing"))

    assert_unknown_subject(response, "Design and Marketing")
    assert fresh.course() is None
    for model in (Course, CourseRun, Instructor):
        assert fresh.count(model) == 0, model
    record = fresh.event("dm-1")
    assert record["status"] == "rejected"
    assert [(e["code"], e["path"]) for e in record["errors"]] == [
        ("unknown_subject", "/course/subjects/0")
    ]


def test_an_unknown_subject_after_a_known_one_is_refused_at_its_index(fresh: Api) -> None:
    payload = product_payload(subjects=["Computer Science", "Design and Marketing"])

    response = send(fresh, "dm-1", payload)

    assert_unknown_subject(response, "Design and Marketing", path="/course/subjects/1")
    assert fresh.course() is None


def test_a_created_subject_applies_by_its_name_however_written(fresh: Api, run_cli: Cli) -> None:
    assert_unknown_subject(
        send(fresh, "dm-1", with_subject("Design and Marketing")), "Design and Marketing"
    )

    create_design_and_marketing(run_cli)
    first = send(fresh, "dm-2", with_subject("Design and Marketing"), 1)

    assert course_action(assert_applied(first)) == "created"
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]
    # written loosely, it is the same subject: nothing to change
    again = send(fresh, "dm-3", with_subject("design & marketing"), 2)
    assert course_action(assert_applied(again, "unchanged")) == "unchanged"
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]
    by_slug = send(fresh, "dm-4", with_subject(DESIGN_AND_MARKETING), 3)
    assert course_action(assert_applied(by_slug, "unchanged")) == "unchanged"
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]


def test_a_created_subject_written_loosely_applies_first_time(fresh: Api, run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)

    response = send(fresh, "dm-1", with_subject("DESIGN & MARKETING"))

    assert_applied(response)
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]


def test_seeded_subject_names_resolve_to_their_slugs(fresh: Api) -> None:
    payload = product_payload(
        subjects=["Data Analysis and Statistics", "art & culture", "COMPUTER-SCIENCE"]
    )

    response = send(fresh, "seeded-1", payload)

    assert_applied(response)
    assert subjects_of(fresh) == ["data-analysis-statistics", "art-culture", "computer-science"]


def test_subjects_that_resolve_to_the_same_slug_are_one_subject(fresh: Api, run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg", DESIGN_AND_MARKETING)
    subjects = ["Computer Science", "computer-science", "Mktg", "Design and Marketing"]

    first = send(fresh, "dup-1", product_payload(subjects=subjects))
    again = send(fresh, "dup-2", product_payload(subjects=subjects), 1)

    assert_applied(first)
    assert_applied(again, "unchanged")
    assert subjects_of(fresh) == ["computer-science", DESIGN_AND_MARKETING]


def test_the_subjects_endpoint_lists_a_created_subject(
    fresh: Api, run_cli: Cli, subjects_restored: dict[str, str]
) -> None:
    before = fresh.get("/subjects")
    assert before.status_code == 200, before.text
    assert before.json() == {
        "results": [{"slug": s, "name": n} for s, n in sorted(subjects_restored.items())],
        "next": None,
    }

    create_design_and_marketing(run_cli)
    after = fresh.get("/subjects")

    assert after.status_code == 200, after.text
    everything = subjects_restored | {DESIGN_AND_MARKETING: "Design and Marketing"}
    assert after.json() == {
        "results": [{"slug": s, "name": n} for s, n in sorted(everything.items())],
        "next": None,
    }
    slugs = [subject["slug"] for subject in after.json()["results"]]
    assert slugs.index("design") + 1 == slugs.index(DESIGN_AND_MARKETING)


def test_a_renamed_subject_resolves_by_its_new_name_only(fresh: Api, run_cli: Cli) -> None:
    assert ok(run_cli, "subjects", "rename", "art-culture", "--name", "Arts and Heritage") == (
        "subject art-culture (Arts and Heritage) updated\n"
    )

    old = send(fresh, "r-1", with_subject("Art & Culture"))
    new = send(fresh, "r-2", with_subject("arts & heritage"), 1)

    assert_unknown_subject(old, "Art & Culture")
    assert_applied(new)
    assert subjects_of(fresh) == ["art-culture"]


def test_the_subjects_endpoint_shows_a_renamed_subjects_new_name(fresh: Api, run_cli: Cli) -> None:
    ok(run_cli, "subjects", "rename", "art-culture", "--name", "Arts and Heritage")

    response = fresh.get("/subjects")

    assert response.status_code == 200, response.text
    shown = {s["slug"]: s["name"] for s in response.json()["results"]}
    assert shown["art-culture"] == "Arts and Heritage"


# ---------------------------------------------------------------------------------------------
# Aliases


def test_an_alias_applies_the_sources_value_as_the_catalog_subject(
    fresh: Api, run_cli: Cli
) -> None:
    create_design_and_marketing(run_cli)
    assert_unknown_subject(send(fresh, "al-0", with_subject("mktg and design")), "mktg and design")

    assert ok(
        run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING
    ) == ("exec-ed: subject 'Mktg & Design' → design-and-marketing (created)\n")
    response = send(fresh, "al-1", with_subject("mktg and design"), 1)

    assert_applied(response)
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]


def test_an_alias_may_name_the_catalog_subject_by_its_english_name(
    fresh: Api, run_cli: Cli
) -> None:
    create_design_and_marketing(run_cli)

    assert ok(
        run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg", "design & marketing"
    ) == ("exec-ed: subject 'Mktg' → design-and-marketing (created)\n")
    response = send(fresh, "al-1", with_subject("MKTG"))

    assert_applied(response)
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]


def test_aliases_are_per_source(fresh: Api, run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)

    exec_ed = send(fresh, "al-1", with_subject("mktg and design"))
    bootcamps = send(
        fresh, "bc-1", bootcamp_with_subject("mktg and design"), key=fresh.keys.bootcamps
    )

    assert_applied(exec_ed)
    assert_unknown_subject(bootcamps, "mktg and design", source="bootcamps")
    assert fresh.course("HarvardX+CODE100") is None


def test_an_alias_wins_over_the_subject_the_value_names(fresh: Api, run_cli: Cli) -> None:
    """The source's own meaning comes first: its "Design" is the catalog's design-and-marketing."""
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Design", DESIGN_AND_MARKETING)

    response = send(fresh, "al-1", with_subject("design"))

    assert_applied(response)
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]


def test_unmapping_a_value_refuses_it_again(fresh: Api, run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)
    assert_applied(send(fresh, "al-1", with_subject("mktg and design")))

    assert ok(run_cli, "sources", "unmap-value", "exec-ed", "subject", "MKTG & DESIGN") == (
        "exec-ed: subject 'Mktg & Design' no longer aliased\n"
    )
    response = send(fresh, "al-2", with_subject("mktg and design"), 1)

    assert_unknown_subject(response, "mktg and design")
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]  # the applied event stays applied
    assert fresh.count(SourceValueAlias) == 0


def test_a_changed_alias_target_updates_the_course_for_the_same_payload(
    fresh: Api, run_cli: Cli
) -> None:
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)
    first = assert_applied(send(fresh, "al-1", with_subject("Mktg & Design")))
    assert course_action(first) == "created"
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]

    assert ok(
        run_cli, "sources", "map-value", "exec-ed", "subject", "mktg & design", "Computer Science"
    ) == ("exec-ed: subject 'mktg & design' → computer-science (updated)\n")
    again = assert_applied(send(fresh, "al-2", with_subject("Mktg & Design"), 1))

    assert course_action(again) == "updated"
    assert subjects_of(fresh) == ["computer-science"]
    # and the same payload once more is unchanged
    third = assert_applied(send(fresh, "al-3", with_subject("Mktg & Design"), 2), "unchanged")
    assert course_action(third) == "unchanged"


def test_a_language_alias_applies_to_content_and_transcript_languages(
    fresh: Api, run_cli: Cli
) -> None:
    def with_languages(hours: float) -> dict[str, Any]:
        product = product_payload()
        product["course_runs"] = [
            run_payload(0, content_language="Englisch", transcript_languages=["Englisch", "es"]),
            run_payload(1),
        ]
        return product

    refused = send(fresh, "lang-1", with_languages(0))
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["path"]) for e in refused.json()["errors"]] == [
        ("invalid_language", "/course_runs/0/content_language"),
        ("invalid_language", "/course_runs/0/transcript_languages/0"),
    ]

    assert ok(run_cli, "sources", "map-value", "exec-ed", "language", "Englisch", "en-us") == (
        "exec-ed: language 'Englisch' → en-US (created)\n"
    )
    response = send(fresh, "lang-2", with_languages(1), 1)

    assert_applied(response)
    course = fresh.course()
    assert course is not None
    run = next(r for r in course["course_runs"] if r["external_id"] == "0b6f9a52-variant-1")
    assert run["content_language"] == "en-US"
    assert run["transcript_languages"] == ["en-US", "es"]


def test_a_level_alias_applies(fresh: Api, run_cli: Cli) -> None:
    refused = send(fresh, "lvl-1", product_payload(level="Beginner"))
    assert refused.status_code == 422, refused.text
    assert errors(refused.json()) == [("unknown_level", "/course/level", "/course/level")]
    assert refused.json()["errors"][0]["message"] == (
        "unknown level 'Beginner'; the catalog's levels are advanced, intermediate, "
        "introductory: an operator can alias this source's value to one of them "
        '(`catalog-gateway sources map-value exec-ed level "Beginner" CATALOG_VALUE`)'
    )

    assert ok(run_cli, "sources", "map-value", "exec-ed", "level", "Beginner", "introductory") == (
        "exec-ed: level 'Beginner' → introductory (created)\n"
    )
    response = send(fresh, "lvl-2", product_payload(level="beginner"), 1)

    assert_applied(response)
    course = fresh.course()
    assert course is not None
    assert course["level"] == "introductory"


def test_a_level_by_its_name_applies(fresh: Api) -> None:
    response = send(fresh, "lvl-1", product_payload(level="INTERMEDIATE"))

    assert_applied(response)
    course = fresh.course()
    assert course is not None
    assert course["level"] == "intermediate"


def test_a_dry_run_resolves_aliases_and_writes_nothing(fresh: Api, run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)

    response = fresh.send(envelope("dry-1", with_subject("mktg and design")), dry_run=True)

    assert response.status_code == 200, response.text
    assert response.json()["errors"] == []
    assert fresh.course() is None


def degree_event(event_id: str, hours: float = 0, **changes: Any) -> dict[str, Any]:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-design",
        "title": "Master of Design",
        "program_type": "masters",
        "organization": "MIT",
        "courses": ["xe-7001"],
        "level": "advanced",
        "primary_subject": "design",
        "content_language": "en-US",
    } | changes
    return envelope(event_id, {"degree": degree}, "degree.upsert", occurred(hours))


def test_a_degrees_primary_subject_level_and_language_resolve(fresh: Api, run_cli: Cli) -> None:
    assert_applied(send(fresh, "p-1", product_payload()))
    refused = fresh.send(degree_event("d-1", primary_subject="Design and Marketing"))
    assert_unknown_subject(refused, "Design and Marketing", path="/degree/primary_subject")
    assert fresh.get("/degrees/masters-design").status_code == 404

    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "level", "Graduate", "advanced")
    ok(run_cli, "sources", "map-value", "exec-ed", "language", "Englisch", "en-GB")
    response = fresh.send(
        degree_event(
            "d-2",
            1,
            primary_subject="design & marketing",
            level="graduate",
            content_language="Englisch",
        )
    )

    assert_applied(response)
    shown = fresh.get("/degrees/masters-design")
    assert shown.status_code == 200, shown.text
    degree = shown.json()
    assert (degree["primary_subject"], degree["level"], degree["content_language"]) == (
        DESIGN_AND_MARKETING,
        "advanced",
        "en-GB",
    )


def test_a_run_events_languages_resolve_by_alias(fresh: Api, run_cli: Cli) -> None:
    assert_applied(send(fresh, "p-1", product_payload()))
    ok(run_cli, "sources", "map-value", "exec-ed", "language", "Castellano", "es")
    run = run_payload(1, content_language="castellano", transcript_languages=["Castellano"])
    event = envelope(
        "r-1",
        {"course": {"external_id": "xe-7001"}, "run": run},
        "course_run.upsert",
        occurred(1),
    )

    assert_applied(fresh.send(event))

    course = fresh.course()
    assert course is not None
    [shown] = [r for r in course["course_runs"] if r["external_id"] == "0b6f9a52-variant-2"]
    assert (shown["content_language"], shown["transcript_languages"]) == ("es", ["es"])


def test_a_batch_resolves_each_event_against_the_sources_aliases(fresh: Api, run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)
    other = product_payload(external_id="xe-7002", number="DS102", subjects=["Underwater"])
    for run in other["course_runs"]:
        run["external_id"] += "-b"

    response = fresh.batch(
        [
            envelope("b-1", with_subject("mktg and design")),
            envelope("b-2", other, occurred_at=occurred(1)),
        ]
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert errors(results[1]) == [("unknown_subject", "/course/subjects/0", "/course/subjects/0")]
    assert subjects_of(fresh) == [DESIGN_AND_MARKETING]
    assert fresh.course("MITx+DS102") is None


def test_an_all_or_nothing_batch_with_an_unknown_subject_writes_nothing(
    fresh: Api, run_cli: Cli
) -> None:
    create_design_and_marketing(run_cli)
    other = product_payload(external_id="xe-7002", number="DS102", subjects=["Underwater"])
    for run in other["course_runs"]:
        run["external_id"] += "-b"

    response = fresh.batch(
        [
            envelope("b-1", with_subject("Design and Marketing")),
            envelope("b-2", other, occurred_at=occurred(1)),
        ],
        "all_or_nothing",
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert [e["code"] for e in results[0]["errors"]] == ["batch_aborted"]
    assert errors(results[1]) == [("unknown_subject", "/course/subjects/0", "/course/subjects/0")]
    assert fresh.course() is None
    assert fresh.count(Course) == 0


# ---------------------------------------------------------------------------------------------
# The cache: subjects and aliases are re-read once older than `auth_cache_seconds`

CACHE_SECONDS = 2.0


def test_with_a_cache_a_new_alias_and_subject_are_seen_once_it_expires(
    make_api: ApiFactory, run_cli: Cli
) -> None:
    create_design_and_marketing(run_cli)
    started = time.monotonic()  # nothing is cached before this
    api = make_api(CACHE_SECONDS)
    # the first request reads the aliases (none) and the subjects (no "Marketing Analytics")
    assert_unknown_subject(send(api, "c-1", with_subject("Mktg & Design")), "Mktg & Design")
    read_by = time.monotonic()  # everything cached was read before this
    assert_unknown_subject(
        send(api, "c-2", with_subject("Marketing Analytics"), 1), "Marketing Analytics"
    )

    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)
    ok(run_cli, "subjects", "create", "marketing-analytics", "--name", "Marketing Analytics")
    cached_alias = send(api, "c-3", with_subject("Mktg & Design"), 2)
    cached_subject = send(api, "c-4", with_subject("Marketing Analytics"), 3)
    elapsed = time.monotonic() - started
    assert elapsed < CACHE_SECONDS, f"too slow to observe the cache ({elapsed:.2f}s)"

    assert_unknown_subject(cached_alias, "Mktg & Design")
    assert_unknown_subject(cached_subject, "Marketing Analytics")
    time.sleep(read_by + CACHE_SECONDS + 0.1 - time.monotonic())
    expired_alias = send(api, "c-5", with_subject("Mktg & Design"), 4)
    assert_applied(expired_alias)
    assert subjects_of(api) == [DESIGN_AND_MARKETING]
    expired_subject = send(api, "c-6", with_subject("Marketing Analytics"), 5)
    assert_applied(expired_subject)
    assert subjects_of(api) == ["marketing-analytics"]


# ---------------------------------------------------------------------------------------------
# The command line


def test_subjects_list_json_is_every_subject_by_slug(
    run_cli: Cli, subjects_restored: dict[str, str]
) -> None:
    create_design_and_marketing(run_cli)

    listed = json.loads(ok(run_cli, "subjects", "list", "--json"))

    everything = subjects_restored | {DESIGN_AND_MARKETING: "Design and Marketing"}
    assert listed == {"subjects": [{"slug": s, "name": n} for s, n in sorted(everything.items())]}
    assert {"slug": "art-culture", "name": "Art & Culture"} in listed["subjects"]


def test_subjects_list_as_text(run_cli: Cli, subjects_restored: dict[str, str]) -> None:
    lines = ok(run_cli, "subjects", "list").splitlines()

    width = max(len(slug) for slug in subjects_restored)
    assert lines == [f"{s:<{width}}  {n}" for s, n in sorted(subjects_restored.items())]


def test_subjects_create_is_idempotent_with_the_same_name(
    run_cli: Cli, database: Database, subjects_restored: dict[str, str]
) -> None:
    create_design_and_marketing(run_cli)

    again = ok(
        run_cli, "subjects", "create", DESIGN_AND_MARKETING, "--name", "Design and Marketing"
    )

    assert again == "subject design-and-marketing (Design and Marketing) unchanged\n"
    with database.read() as session:
        now = dict(session.execute(select(Subject.slug, Subject.name)).all())
    assert now == subjects_restored | {DESIGN_AND_MARKETING: "Design and Marketing"}


def test_subjects_create_with_another_name_is_a_conflict(run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)

    error = fails(run_cli, "subjects", "create", DESIGN_AND_MARKETING, "--name", "Mktg")

    assert error == (
        "error: subject design-and-marketing exists, named 'Design and Marketing'; rename it "
        "with `catalog-gateway subjects rename design-and-marketing --name 'Mktg'`\n"
    )


def test_subjects_create_matching_another_subject_is_a_conflict(
    run_cli: Cli, subjects_restored: dict[str, str]
) -> None:
    error = fails(run_cli, "subjects", "create", "art-and-culture", "--name", "Arts")

    assert error == (
        "error: subject art-culture ('Art & Culture') would be matched by the same names as "
        "art-and-culture ('Arts'); choose a slug and name that differ from it by more than case "
        "or punctuation\n"
    )
    assert "art-and-culture" not in json.loads(ok(run_cli, "subjects", "list", "--json"))


def test_subjects_create_with_a_bad_slug_fails(run_cli: Cli, database: Database) -> None:
    error = fails(run_cli, "subjects", "create", "Design_Marketing", "--name", "Design")

    assert error == (
        "error: subject slug 'Design_Marketing' must be lower-case words of a-z and 0-9 joined "
        "by '-', at most 64 characters (e.g. design-and-marketing)\n"
    )
    with database.read() as session:
        assert session.get(Subject, "Design_Marketing") is None


def test_subjects_create_needs_a_name(run_cli: Cli) -> None:
    result = run_cli("subjects", "create", DESIGN_AND_MARKETING)

    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "--name" in result.stderr


def test_subjects_rename_an_unknown_subject_fails(run_cli: Cli) -> None:
    error = fails(run_cli, "subjects", "rename", "nowhere", "--name", "Nowhere")

    assert error == "error: no subject 'nowhere' (`catalog-gateway subjects list` shows them)\n"


@pytest.mark.usefixtures("keys")
def test_sources_map_value_of_an_unknown_field_fails(run_cli: Cli, database: Database) -> None:
    error = fails(run_cli, "sources", "map-value", "exec-ed", "title", "Data", "computer-science")

    assert error == (
        "error: field 'title' cannot be aliased; aliased fields: subject, language, level\n"
    )
    with database.read() as session:
        assert session.scalars(select(SourceValueAlias)).all() == []


@pytest.mark.usefixtures("keys")
def test_sources_map_value_of_an_unknown_source_fails(run_cli: Cli) -> None:
    error = fails(run_cli, "sources", "map-value", "nowhere", "subject", "Data", "computer-science")

    assert error == "error: no source 'nowhere'\n"


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("field", "catalog_value", "message"),
    [
        (
            "subject",
            "design-and-marketing",
            "'design-and-marketing' is not a catalog subject; give a subject's slug or English "
            "name (`catalog-gateway subjects list`)",
        ),
        (
            "level",
            "expert",
            "'expert' is not a catalog level; give a level: advanced, intermediate, introductory",
        ),
        (
            "language",
            "Englisch",
            "'Englisch' is not a catalog language; give an IETF language tag such as en, en-US "
            "or es-419 (at most 35 characters)",
        ),
    ],
)
def test_sources_map_value_of_an_unknown_catalog_value_fails(
    run_cli: Cli, database: Database, field: str, catalog_value: str, message: str
) -> None:
    error = fails(run_cli, "sources", "map-value", "exec-ed", field, "Something", catalog_value)

    assert error == f"error: {message}\n"
    with database.read() as session:
        assert session.scalars(select(SourceValueAlias)).all() == []


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("subtags", [4, 10])
def test_sources_map_value_refuses_a_language_tag_too_long_for_the_catalog(
    run_cli: Cli, database: Database, subtags: int
) -> None:
    """A valid but long private-use tag: 40 characters (the catalog's languages hold at most
    35, so no event could use the alias) or 94 (more than the alias table's 64). Either is
    refused cleanly, like any value that is no catalog language, and nothing is stored."""
    tag = "en-x-" + "-".join(["abcdefgh"] * subtags)

    error = fails(run_cli, "sources", "map-value", "exec-ed", "language", "Klingon", tag)

    assert error.startswith(f"error: {tag!r} ")
    with database.read() as session:
        assert session.scalars(select(SourceValueAlias)).all() == []


@pytest.mark.usefixtures("keys")
def test_sources_map_value_of_a_value_with_no_letter_or_digit_fails(run_cli: Cli) -> None:
    error = fails(run_cli, "sources", "map-value", "exec-ed", "subject", " - ", "design")

    assert error == (
        "error: the source's value ' - ' must hold a letter or digit and be at most 255 "
        "characters\n"
    )


@pytest.mark.usefixtures("keys")
def test_sources_unmap_value_of_no_alias_fails(run_cli: Cli) -> None:
    error = fails(run_cli, "sources", "unmap-value", "exec-ed", "subject", "Mktg")

    assert error == "error: source exec-ed has no subject alias for 'Mktg'\n"


@pytest.mark.usefixtures("keys")
def test_sources_values_json_lists_the_sources_aliases(run_cli: Cli) -> None:
    create_design_and_marketing(run_cli)
    assert json.loads(ok(run_cli, "sources", "values", "exec-ed", "--json")) == {
        "source": "exec-ed",
        "aliases": [],
    }
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", DESIGN_AND_MARKETING)
    ok(run_cli, "sources", "map-value", "exec-ed", "level", "Beginner", "Introductory")
    ok(run_cli, "sources", "map-value", "exec-ed", "language", "Englisch", "en-us")
    ok(run_cli, "sources", "map-value", "exec-ed", "subject", "Code", "computer-science")
    ok(run_cli, "sources", "map-value", "bootcamps", "subject", "Coding", "computer-science")
    # mapping the same value again (written otherwise) is unchanged
    assert ok(
        run_cli, "sources", "map-value", "exec-ed", "subject", "Mktg & Design", "Design & Marketing"
    ) == ("exec-ed: subject 'Mktg & Design' → design-and-marketing (unchanged)\n")

    listed = json.loads(ok(run_cli, "sources", "values", "exec-ed", "--json"))

    assert listed == {
        "source": "exec-ed",
        "aliases": [
            {"field": "language", "lob_value": "Englisch", "catalog_value": "en-US"},
            {"field": "level", "lob_value": "Beginner", "catalog_value": "introductory"},
            {"field": "subject", "lob_value": "Code", "catalog_value": "computer-science"},
            {
                "field": "subject",
                "lob_value": "Mktg & Design",
                "catalog_value": DESIGN_AND_MARKETING,
            },
        ],
    }
    assert json.loads(ok(run_cli, "sources", "values", "bootcamps", "--json")) == {
        "source": "bootcamps",
        "aliases": [
            {"field": "subject", "lob_value": "Coding", "catalog_value": "computer-science"}
        ],
    }


@pytest.mark.usefixtures("keys")
def test_sources_values_as_text(run_cli: Cli) -> None:
    assert ok(run_cli, "sources", "values", "exec-ed") == "exec-ed has no value aliases\n"
    ok(run_cli, "sources", "map-value", "exec-ed", "level", "Beginner", "introductory")

    assert ok(run_cli, "sources", "values", "exec-ed") == ("level     'Beginner' → introductory\n")


@pytest.mark.usefixtures("keys")
def test_sources_values_of_an_unknown_source_fails(run_cli: Cli) -> None:
    assert fails(run_cli, "sources", "values", "nowhere", "--json") == (
        "error: no source 'nowhere'\n"
    )
