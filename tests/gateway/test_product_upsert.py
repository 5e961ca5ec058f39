"""product.upsert over HTTP: the ordered trace, idempotency, stale events, updates."""

from __future__ import annotations

from typing import Any

from catalog_gateway.catalog.models import Instructor
from tests.gateway.conftest import Api
from tests.gateway.payloads import (
    CONTRACT_ORDER,
    COURSE_KEY,
    GO_LIVE_RUN_0,
    INSTRUCTOR_IDS,
    RUN_KEYS,
    copied,
    course_payload,
    envelope,
    expected_run_status,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
    seat_payload,
)

CATALOG_UPSERTS = {"instructor.upsert", "course.upsert", "course_run.upsert", "seat.upsert"}


def steps_named(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [step for step in answer["steps"] if step["name"] == name]


def test_product_upsert_creates_instructors_course_runs_and_seats_in_contract_order(
    api: Api,
) -> None:
    response = api.send(envelope("exec-ed-0001", product_payload()))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert answer["source"] == "exec-ed"
    assert answer["event_id"] == "exec-ed-0001"
    assert answer["retryable"] is False
    assert answer["errors"] == []
    assert answer["warnings"] == []
    assert [step["name"] for step in answer["steps"]] == CONTRACT_ORDER
    by_name = {name: steps_named(answer, name) for name in set(CONTRACT_ORDER)}
    assert [s["status"] for s in by_name["transform"] + by_name["validate"]] == ["ok", "ok"]
    for name in CATALOG_UPSERTS:
        for step in by_name[name]:
            assert (step["status"], step["action"], step["system"]) == ("ok", "created", "catalog")
    assert [s["target"] for s in by_name["instructor.upsert"]] == [
        f"instructor:{external_id}" for external_id in INSTRUCTOR_IDS
    ]
    assert by_name["course.upsert"][0]["target"] == f"course:{COURSE_KEY}"
    run_targets = [f"course_run:{key}" for key in RUN_KEYS]
    assert [s["target"] for s in by_name["course_run.upsert"]] == run_targets
    assert [s["target"] for s in by_name["seat.upsert"]] == run_targets
    for step in by_name["ecommerce.publish"]:
        assert (step["status"], step["system"]) == ("skipped", "ecommerce")
        assert step["detail"] == "ecommerce not configured"
    assert [s["target"] for s in by_name["ecommerce.publish"]] == run_targets
    assert [s["target"] for s in by_name["course_run.publish"]] == run_targets
    assert [(s["status"], s["action"]) for s in by_name["course_run.publish"]] == [
        ("ok", "updated"),
        ("ok", "updated"),
    ]

    products = answer["products"]
    assert products["courses"] == [COURSE_KEY]
    assert products["course_runs"] == list(RUN_KEYS)
    assert products["degrees"] == []
    assert len(products["instructors"]) == 3
    for uuid, external_id in zip(products["instructors"], INSTRUCTOR_IDS, strict=True):
        instructor = api.get(f"/instructors/{uuid}").json()
        assert instructor["external_id"] == external_id
        assert instructor["source"] == "exec-ed"

    course = api.course()
    assert course is not None
    assert course["title"] == "Data Science for Leaders"
    assert course["organization"] == "MITx"  # the source's own code MIT, mapped
    assert course["source"] == "exec-ed"
    assert course["product_status"] == "published"
    assert course["entitlement"]["price"] == "2800.00"
    runs = {run["key"]: run for run in course["course_runs"]}
    assert set(runs) == set(RUN_KEYS)
    first, second = runs[RUN_KEYS[0]], runs[RUN_KEYS[1]]
    assert first["status"] == expected_run_status(GO_LIVE_RUN_0)
    assert second["status"] == "published"
    assert first["staff"] == ["in-1", "in-2"]
    assert second["staff"] == ["in-3", "in-1"]
    assert [(s["type"], s["price"], s["currency"]) for s in first["seats"]] == [
        ("paid-executive-education", "2800.00", "USD")
    ]
    assert [(s["type"], s["price"], s["currency"]) for s in second["seats"]] == [
        ("paid-executive-education", "2950.00", "USD")
    ]


def test_same_event_again_replays_the_stored_answer(api: Api) -> None:
    event = envelope("exec-ed-0001", product_payload())
    first = api.send(event)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers

    again = api.send(event)

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["replayed"] is False
    assert again.json() == {**first.json(), "replayed": True}
    assert api.event("exec-ed-0001")["attempts"] == 1


def test_the_same_event_id_and_payload_with_another_occurred_at_is_the_same_event(
    api: Api,
) -> None:
    """Issue 14's contract decision: an event is its type and payload; `occurred_at` is not
    part of what makes two sends the same event, so a resend with a new timestamp replays."""
    first = api.send(envelope("exec-ed-0001", product_payload(), occurred_at=occurred(0)))
    assert first.status_code == 200, first.text

    again = api.send(envelope("exec-ed-0001", product_payload(), occurred_at=occurred(5)))

    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "replayed": True}
    reused = api.send(envelope("exec-ed-0001", product_payload(title="Other")))
    assert reused.status_code == 409, reused.text
    assert [e["code"] for e in reused.json()["errors"]] == ["event_id_reused"]


def test_a_batch_says_which_answers_are_replays(api: Api) -> None:
    first = api.batch([envelope("exec-ed-0001", product_payload())])
    assert first.status_code == 200, first.text

    again = api.batch(
        [
            envelope("exec-ed-0001", product_payload()),
            envelope(
                "exec-ed-0002",
                {"instructor": {"external_id": "in-9", "given_name": "Bo"}},
                event_type="instructor.upsert",
            ),
        ]
    )

    assert again.status_code == 200, again.text
    results = again.json()["results"]
    assert [(r["status"], r["replayed"]) for r in results] == [
        ("applied", True),
        ("applied", False),
    ]
    assert api.event("exec-ed-0001")["attempts"] == 1


def test_same_event_id_with_another_payload_is_a_conflict_and_changes_nothing(api: Api) -> None:
    assert api.send(envelope("exec-ed-0001", product_payload())).status_code == 200
    before = api.course()

    response = api.send(envelope("exec-ed-0001", product_payload(title="Renamed")))

    assert response.status_code == 409
    answer = response.json()
    assert answer["status"] == "conflict"
    assert [error["code"] for error in answer["errors"]] == ["event_id_reused"]
    assert answer["retryable"] is False
    assert "Idempotent-Replayed" not in response.headers
    assert api.course() == before
    assert api.event("exec-ed-0001")["status"] == "applied"


def test_new_event_id_with_the_same_payload_is_unchanged_and_moves_nothing(api: Api) -> None:
    assert api.send(envelope("exec-ed-0001", product_payload())).status_code == 200
    before = api.course()
    assert before is not None

    response = api.send(envelope("exec-ed-0002", product_payload(), occurred_at=occurred(1)))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "unchanged"
    catalog_steps = [step for step in answer["steps"] if step["system"] == "catalog"]
    assert len(catalog_steps) == 3 + 1 + 2 + 2 + 2
    assert {step["action"] for step in catalog_steps} == {"unchanged"}
    after = api.course()
    assert after is not None
    assert after["modified"] == before["modified"]
    assert [run["modified"] for run in after["course_runs"]] == [
        run["modified"] for run in before["course_runs"]
    ]
    assert after == before


def test_older_event_is_stale_and_changes_nothing(api: Api) -> None:
    assert api.send(envelope("e-1", product_payload(), occurred_at=occurred(0))).status_code == 200

    older = product_payload(title="Data Science for Executives")
    older["instructors"].append(instructor_payload("in-4"))  # written first, then rolled back
    response = api.send(envelope("e-2", older, occurred_at=occurred(-1)))

    assert response.status_code == 409, response.text
    answer = response.json()
    assert answer["status"] == "stale"
    assert [error["code"] for error in answer["errors"]] == ["stale"]
    assert answer["errors"][0]["step"] == "course.upsert"
    steps = [(step["name"], step["status"]) for step in answer["steps"]]
    failed_at = steps.index(("course.upsert", "failed"))
    assert {status for _, status in steps[failed_at + 1 :]} == {"skipped"}
    assert len(steps) == len(CONTRACT_ORDER) + 1  # in-4 adds a fourth instructor step
    course = api.course()
    assert course is not None
    assert course["title"] == "Data Science for Leaders"
    assert api.count(Instructor) == 3  # in-4 was rolled back with the rest
    assert api.event("e-2")["status"] == "stale"

    again = api.send(envelope("e-2", older, occurred_at=occurred(-1)))
    assert again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {**answer, "replayed": True}


def test_equal_or_newer_event_applies_after_an_older_one_was_refused(api: Api) -> None:
    assert api.send(envelope("e-1", product_payload(), occurred_at=occurred(0))).status_code == 200
    stale = api.send(envelope("e-2", product_payload(title="Old"), occurred_at=occurred(-1)))
    assert stale.status_code == 409

    same_time = api.send(
        envelope("e-3", product_payload(title="Same Time"), occurred_at=occurred(0))
    )
    assert same_time.status_code == 200, same_time.text
    assert same_time.json()["status"] == "applied"
    assert (api.course() or {})["title"] == "Same Time"

    newer = api.send(envelope("e-4", product_payload(title="Newer"), occurred_at=occurred(2)))
    assert newer.status_code == 200, newer.text
    assert newer.json()["status"] == "applied"
    assert (api.course() or {})["title"] == "Newer"


def test_price_change_updates_the_seat_and_keeps_the_run_published(api: Api) -> None:
    assert api.send(envelope("e-1", product_payload())).status_code == 200
    repriced = product_payload()
    repriced["course_runs"][1]["seats"][0]["price"] = "3100.00"

    response = api.send(envelope("e-2", repriced, occurred_at=occurred(1)))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    seats = steps_named(answer, "seat.upsert")
    assert [(s["target"], s["action"]) for s in seats] == [
        (f"course_run:{RUN_KEYS[0]}", "unchanged"),
        (f"course_run:{RUN_KEYS[1]}", "updated"),
    ]
    assert [s["action"] for s in steps_named(answer, "course_run.publish")] == [
        "unchanged",
        "unchanged",
    ]
    run = api.get(f"/course-runs/{RUN_KEYS[1]}").json()
    assert run["status"] == "published"
    assert [(s["price"], s["currency"]) for s in run["seats"]] == [("3100.00", "USD")]


def test_older_product_keeps_an_instructor_a_newer_event_changed_and_warns(api: Api) -> None:
    assert api.send(envelope("e-1", product_payload(), occurred_at=occurred(0))).status_code == 200
    newer_ada = instructor_payload("in-1", bio="<p>Updated biography.</p>", email="ada@mit.edu")
    instructor_event = envelope(
        "e-2", {"instructor": newer_ada}, event_type="instructor.upsert", occurred_at=occurred(2)
    )
    assert api.send(instructor_event).status_code == 200

    product = product_payload(title="Data Science for Senior Leaders")
    response = api.send(envelope("e-3", product, occurred_at=occurred(1)))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert [(w["code"], w["path"], w["step"]) for w in answer["warnings"]] == [
        ("newer_data_kept", "/instructors/0", "instructor.upsert")
    ]
    assert answer["warnings"][0]["source_path"] == "/instructors/0"
    assert answer["errors"] == []
    assert (api.course() or {})["title"] == "Data Science for Senior Leaders"
    ada_uuid = api.send(instructor_event).json()["products"]["instructors"][0]
    ada = api.get(f"/instructors/{ada_uuid}").json()
    assert (ada["bio"], ada["email"]) == ("<p>Updated biography.</p>", "ada@mit.edu")


def test_a_run_the_source_sells_itself_says_so_in_its_ecommerce_step(api: Api) -> None:
    """Issue 14: an `unpaid-executive-education` run (sold on the source's own storefront)
    keeps an ecommerce.publish step, skipped "sold by the source", and is published."""
    product = product_payload()
    product["course_runs"][1] |= {
        "run_type": "unpaid-executive-education",
        "seats": [{"type": "unpaid-executive-education", "price": "2950.00", "currency": "USD"}],
    }

    response = api.send(envelope("e-1", copied(product)))

    assert response.status_code == 200, response.text
    answer = response.json()
    ecommerce = steps_named(answer, "ecommerce.publish")
    assert [(step["target"], step["status"], step["detail"]) for step in ecommerce] == [
        (f"course_run:{RUN_KEYS[0]}", "skipped", "ecommerce not configured"),
        (f"course_run:{RUN_KEYS[1]}", "skipped", "sold by the source"),
    ]
    run = api.get(f"/course-runs/{RUN_KEYS[1]}").json()
    assert run["status"] == "published"


def test_a_run_with_no_paid_seat_gets_no_ecommerce_step(api: Api) -> None:
    """An audit course's run sells nothing: no ecommerce step at all, and it is published."""
    product = {
        "course": course_payload(course_type="audit", entitlement=None),
        "instructors": [],
        "course_runs": [
            run_payload(0, run_type="audit", staff=[], seats=[seat_payload("0.00", type="audit")])
        ],
    }

    response = api.send(envelope("e-audit", product))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert steps_named(answer, "ecommerce.publish") == []
    assert [step["name"] for step in answer["steps"]][-1] == "course_run.publish"
    run = api.get(f"/course-runs/{RUN_KEYS[0]}").json()
    assert run["status"] == expected_run_status(GO_LIVE_RUN_0)
