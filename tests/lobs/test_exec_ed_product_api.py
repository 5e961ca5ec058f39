"""The `exec-ed-product-api` transformer through POST /api/v1/events: products of the executive
education product API land in the catalog, and problems name the API's own fields."""

from __future__ import annotations

from typing import Any

import httpx

from tests.lobs.conftest import LobApi, exec_ed_product, runs_by_external_id, seats


def issues(answer: dict[str, Any], kind: str = "errors") -> set[tuple[str, str]]:
    """(source_path, code) of an answer's errors (or warnings)."""
    return {(issue["source_path"], issue["code"]) for issue in answer[kind]}


def send_product(
    lob_api: LobApi, event_id: str, fixture: str = "short_course_single_variant", **changes: Any
) -> httpx.Response:
    """Send a product fixture as `exec-ed`, with some of its top-level fields changed."""
    product = exec_ed_product(fixture) | changes
    return lob_api.send(lob_api.keys.exec_ed, event_id, product)


def only_run(lob_api: LobApi, course_key: str = "MITx+DSL") -> dict[str, Any]:
    """The one run of a course, as the catalog shows it."""
    course = lob_api.course(course_key)
    assert course is not None
    [run] = course["course_runs"]
    return run


def test_a_short_course_with_one_variant_is_applied_with_every_field(lob_api: LobApi) -> None:
    response = send_product(lob_api, "dsl-1", "short_course_single_variant")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert (answer["errors"], answer["warnings"]) == ([], [])
    assert answer["products"]["courses"] == ["MITx+DSL"]
    # Issue 14, point 2: the partner sells the product itself.
    sold = [(s["status"], s["detail"]) for s in answer["steps"] if s["name"] == "ecommerce.publish"]
    assert sold == [("skipped", "sold by the source")]
    course = lob_api.course("MITx+DSL")
    assert course is not None
    assert [run["status"] for run in course["course_runs"]] == ["published"]
    assert course["external_id"] == "3b0e8d0c-6f1e-4c2a-9a51-2f4b6e7d8c01"
    assert course["organization"] == "MITx"
    assert course["title"] == "Data Science for Leaders"
    assert course["short_description"] == "Lead data-driven decisions without writing code."
    assert course["full_description"].startswith("<p>Data is only as useful")
    assert "This course is for managers" in course["full_description"]
    assert "Judge a model" in course["outcome"]
    assert course["syllabus"].startswith(
        "<h3>Course curriculum</h3>"
        "<p>Eight modules, each a week, from framing questions to leading data teams.</p><ul>"
    )  # issue 14, point 3: the curriculum's blurb comes before the modules
    assert "Statistics for decisions" in course["syllabus"]
    assert "Do I need to code?" in course["faq"]
    assert "No. The course uses no programming." in course["faq"]
    assert "Priya N." in course["learner_testimonials"]
    assert course["subjects"] == ["data-analysis-statistics"]
    assert course["course_type"] == "executive-education-2u"
    assert course["image_url"] == "https://images.example.com/exec-ed/dsl/card.jpg"
    assert course["video_url"] == "https://www.youtube.com/watch?v=dsl-trailer"
    assert course["organization_short_code_override"] == "MIT Sloan"
    assert course["organization_logo_override"] == (
        "https://images.example.com/exec-ed/mit-sloan-logo.png"
    )
    marketing = course["marketing"]
    assert marketing["external_url"] == (
        "https://exec-ed.example.com/mit/data-science-for-leaders?utm_source=edx&utm_medium=plp"
    )
    assert marketing["organic_url"] == (
        "https://www.example.com/course/mitx-data-science-for-leaders"
    )
    assert marketing["lead_capture_form_url"] == "https://www.example.com/lead-capture?id=dsl-123"
    assert marketing["marketing_type"] == "short_course"
    assert marketing["certificate"] == {
        "heading": "Earn a certificate from MIT Sloan",
        "blurb": "Awarded on successful completion.",
    }
    assert [fact["heading"] for fact in marketing["facts"]] == ["94%", "18,000+"]
    assert "would recommend" in marketing["facts"][0]["blurb"]
    # Issue 14, point 3: what the storefront needs.
    assert course["seo"] == {
        "title": "Data Science for Leaders | MIT Sloan",
        "description": "An eight-week online course for managers.",
        "keywords": "data science, leadership, analytics",
    }
    assert course["slug"] == "data-science-for-leaders"
    assert course["inquiry"] == {
        "form_id": "f1e2d3c4-taxi",
        "post_submit_url": "https://exec-ed.example.com/mit/dsl/prospectus.pdf",
    }
    assert course["entitlement"]["seat_type"] == "unpaid-executive-education"
    assert (course["entitlement"]["price"], course["entitlement"]["currency"]) == ("2800.00", "USD")

    [run] = course["course_runs"]
    assert run["key"] == "course-v1:MITx+DSL+1T2027"
    assert run["external_id"] == "00000000-0000-4000-8000-00000000d501"
    assert run["start"] == "2027-02-01T00:00:00Z"
    assert run["end"] == "2027-03-29T23:59:59Z"
    assert run["enrollment_end"] == "2027-01-25T23:59:59Z"
    assert run["pacing"] == "instructor_paced"
    assert run["run_type"] == "unpaid-executive-education"
    assert (run["min_effort"], run["max_effort"]) == (7, 10)
    assert run["weeks_to_complete"] == 8
    assert run["content_language"] == "en"
    assert run["transcript_languages"] == ["en"]
    assert run["restriction"] is None
    assert seats(run) == [("unpaid-executive-education", "2800.00", "USD")]


def test_every_kind_of_variant_becomes_a_run_and_restricted_ones_keep_their_price_private(
    lob_api: LobApi,
) -> None:
    response = send_product(lob_api, "le-1", "sprint_spanish_many_variants")

    assert response.status_code == 200, response.text
    course = lob_api.course("HarvardX+LE")
    assert course is not None
    assert course["title"] == "Liderazgo estratégico"
    assert course["seo"] == {
        "title": "Liderazgo estratégico",
        "description": None,
        "keywords": None,
    }
    assert (course["slug"], course["inquiry"]) == ("liderazgo-estrategico", None)
    assert course["short_description"] == "Strategic Leadership"
    assert course["subjects"] == ["business-management"]
    assert course["marketing"]["marketing_type"] == "sprint"
    assert course["organization_logo_override"] is None
    runs = runs_by_external_id(course)
    public, private, future, custom = (
        runs["00000000-0000-4000-8000-00000000a101"],
        runs["00000000-0000-4000-8000-00000000a102"],
        runs["00000000-0000-4000-8000-00000000a103"],
        runs["00000000-0000-4000-8000-00000000a1c1"],
    )
    assert len(runs) == 4
    assert {run["key"] for run in runs.values()} == {
        "course-v1:HarvardX+LE+1T2027",
        "course-v1:HarvardX+LE+1T2027a",
        "course-v1:HarvardX+LE+2T2027",
        "course-v1:HarvardX+LE+3T2027",
    }
    assert public["restriction"] is None
    assert future["restriction"] is None
    assert private["restriction"] == "custom-b2b-enterprise"  # issue 14: as the upstream loads it
    assert custom["restriction"] == "custom-b2b-enterprise"
    assert custom["fixed_price_usd"] == "2400.50"
    assert seats(public) == [("unpaid-executive-education", "2950.00", "USD")]
    assert seats(future) == [("unpaid-executive-education", "3100.00", "USD")]
    assert seats(custom) == [("unpaid-executive-education", "2400.50", "USD")]
    assert course["entitlement"]["price"] == "2950.00"
    # No final close date on the private variant: its registration close date is used.
    assert private["enrollment_end"] == "2027-04-19T23:59:59Z"
    for run in runs.values():
        assert run["content_language"] == "es"
        assert run["transcript_languages"] == ["es"]
        assert (run["min_effort"], run["max_effort"]) == (4, 6)
        assert run["weeks_to_complete"] == 8
        assert run["pacing"] == "instructor_paced"


def test_loose_optional_fields_are_warnings_and_the_product_still_applies(
    lob_api: LobApi,
) -> None:
    response = send_product(lob_api, "ais-1", "course_stack_loose_fields")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["errors"] == []
    warnings = issues(answer, "warnings")
    assert ("/effort", "invalid_effort") in warnings
    assert ("/videoURL", "invalid_format") in warnings
    assert all(w["step"] == "transform" for w in answer["warnings"] if w["source_path"])
    course = lob_api.course("MITx+AIS")
    assert course is not None
    assert course["title"] == "AI Strategy Course Stack"
    assert course["image_url"] == "https://images.example.com/exec-ed/ais/card.png"
    assert course["video_url"] is None
    assert course["marketing"]["organic_url"] is None
    assert course["marketing"]["marketing_type"] == "course_stack"
    run = only_run(lob_api, "MITx+AIS")
    assert (run["min_effort"], run["max_effort"]) == (None, None)
    assert run["content_language"] == "en-US"
    assert seats(run) == [("unpaid-executive-education", "4500.00", "USD")]


def test_a_broken_product_is_rejected_with_every_problem_on_the_apis_own_fields(
    lob_api: LobApi,
) -> None:
    response = send_product(lob_api, "neg-1", "broken_product")

    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    errors = issues(answer)
    assert ("/abbreviation", "required") in errors
    assert ("/cardUrl", "invalid_format") in errors
    assert ("/variants/1/startDate", "invalid_format") in errors
    assert ("/productType", "invalid_choice") in errors
    # Found by validation, after the mapping, and answered together with the mapping's errors.
    assert ("/variants/0/endDate", "invalid_date") in errors
    steps = {error["source_path"]: error["step"] for error in answer["errors"]}
    assert steps["/cardUrl"] == "transform"
    assert steps["/variants/0/endDate"] == "validate"
    assert lob_api.courses() == []


def test_an_unparseable_date_in_the_second_variant_names_that_variants_field(
    lob_api: LobApi,
) -> None:
    product = exec_ed_product("sprint_spanish_many_variants")
    product["variants"][1]["startDate"] = "2027-02-30"

    response = lob_api.send(lob_api.keys.exec_ed, "le-bad-date", product)

    assert response.status_code == 422, response.text
    # Once, by the transform: validation does not report the same field again as missing.
    [error] = [e for e in response.json()["errors"] if e["source_path"] == "/variants/1/startDate"]
    assert error["step"] == "transform"
    assert error["source_path"] == "/variants/1/startDate"
    assert error["path"] == "/course_runs/1/start"
    assert "/variants/1/startDate" in error["message"]
    assert lob_api.course("HarvardX+LE") is None


def test_a_malformed_card_image_is_an_error_naming_card_url(lob_api: LobApi) -> None:
    response = send_product(lob_api, "dsl-bad-card", cardUrl="aHR0cHM6Ly9pbWFnZXM*invalid")

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["code"], error["source_path"]) == ("invalid_format", "/cardUrl")
    assert error["path"] == "/course/image_url"
    assert "/cardUrl" in error["message"]


def test_a_missing_card_image_is_required(lob_api: LobApi) -> None:
    response = send_product(lob_api, "dsl-no-card", cardUrl="")

    assert response.status_code == 422, response.text
    assert issues(response.json()) == {("/cardUrl", "required")}


def test_a_product_without_abbreviation_is_rejected_naming_abbreviation(lob_api: LobApi) -> None:
    response = send_product(lob_api, "dsl-no-number", abbreviation=None)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {error["source_path"] for error in errors} == {"/abbreviation"}
    assert {error["path"] for error in errors} == {"/course/number"}
    assert lob_api.course("MITx+DSL") is None


def test_a_malformed_optional_url_is_a_warning_and_the_field_stays_empty(
    lob_api: LobApi,
) -> None:
    response = send_product(lob_api, "dsl-bad-lcf", lcfURL="bm90IGEgdXJs!!")

    assert response.status_code == 200, response.text
    [warning] = [w for w in response.json()["warnings"] if w["source_path"] == "/lcfURL"]
    assert warning["path"] == "/course/marketing/lead_capture_form_url"
    assert "/lcfURL" in warning["message"]
    course = lob_api.course("MITx+DSL")
    assert course is not None
    assert course["marketing"].get("lead_capture_form_url") is None


def test_effort_without_numbers_is_a_warning_and_runs_have_no_effort(lob_api: LobApi) -> None:
    response = send_product(lob_api, "dsl-effort", effort="Flexible")

    assert response.status_code == 200, response.text
    effort_warnings = [w for w in response.json()["warnings"] if w["source_path"] == "/effort"]
    assert [w["code"] for w in effort_warnings] == ["invalid_effort"]
    run = only_run(lob_api)
    assert (run["min_effort"], run["max_effort"]) == (None, None)


def test_a_single_effort_number_is_both_minimum_and_maximum(lob_api: LobApi) -> None:
    response = send_product(lob_api, "dsl-effort-7", effort="7 hours per week")

    assert response.status_code == 200, response.text
    run = only_run(lob_api)
    assert (run["min_effort"], run["max_effort"]) == (7, 7)


def test_an_unknown_organization_code_is_a_validation_error_on_university_abbreviation(
    lob_api: LobApi,
) -> None:
    response = send_product(lob_api, "dsl-oxford", universityAbbreviation="OXFORD")

    assert response.status_code == 422, response.text
    assert issues(response.json()) == {("/universityAbbreviation", "unknown_organization")}


def test_a_price_sent_as_a_decimal_string_is_the_seat_price(lob_api: LobApi) -> None:
    variant = exec_ed_product("short_course_single_variant")["variant"]
    variant |= {"finalPrice": "2899.99", "currency": "EUR"}

    response = send_product(lob_api, "dsl-eur", variant=variant)

    assert response.status_code == 200, response.text
    assert seats(only_run(lob_api)) == [("unpaid-executive-education", "2899.99", "EUR")]


def test_a_retirement_in_the_canonical_shape_archives_the_product(lob_api: LobApi) -> None:
    product = exec_ed_product("short_course_single_variant")
    assert lob_api.send(lob_api.keys.exec_ed, "dsl-1", product).status_code == 200

    response = lob_api.send(
        lob_api.keys.exec_ed,
        "dsl-retire",
        {"course": {"external_id": product["id"]}},
        event_type="product.retire",
    )

    assert response.status_code == 200, response.text
    course = lob_api.course("MITx+DSL")
    assert course is not None
    assert course["product_status"] == "archived"


def test_a_private_variant_first_is_restricted_and_never_the_course_price(
    lob_api: LobApi,
) -> None:
    """Issue 14, point 4: `websiteVisibility: "private"` is a restricted run
    (`custom-b2b-enterprise`), like a custom presentation, even when it comes first: the
    course's public price is the next public variant's."""
    product = exec_ed_product("sprint_spanish_many_variants")
    variants = product["variants"]
    private = next(v for v in variants if v.get("websiteVisibility") == "private")
    public = [v for v in variants if v is not private]
    product["variants"] = [private | {"finalPrice": "9999.00"}, *public]

    response = lob_api.send(lob_api.keys.exec_ed, "le-private-first", product)

    assert response.status_code == 200, response.text
    course = lob_api.course("HarvardX+LE")
    assert course is not None
    runs = runs_by_external_id(course)
    assert runs[private["id"]]["restriction"] == "custom-b2b-enterprise"
    assert seats(runs[private["id"]]) == [("unpaid-executive-education", "9999.00", "USD")]
    assert course["entitlement"]["price"] == "2950.00"


def test_a_slug_another_product_holds_is_an_error_at_the_apis_slug(lob_api: LobApi) -> None:
    """Issue 14, point 3: a course page's slug is unique in the catalog."""
    assert send_product(lob_api, "dsl-1").status_code == 200
    other = exec_ed_product("sprint_spanish_many_variants") | {"slug": "data-science-for-leaders"}

    response = lob_api.send(lob_api.keys.exec_ed, "le-same-slug", other)

    assert response.status_code == 422, response.text
    answer = response.json()
    assert [(e["code"], e["path"], e["source_path"]) for e in answer["errors"]] == [
        ("course_slug_taken", "/course/slug", "/slug")
    ]
    assert lob_api.course("HarvardX+LE") is None
