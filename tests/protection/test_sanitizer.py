"""Rich text is cleaned to the documented allow-list (issue 5 point 3, `gateway/sanitize.py`).

Documented allow-list: p, br, strong, b, em, i, u, s, sub, sup, ul, ol, li, h2, h3, h4, h5,
h6, blockquote, code, pre, a (href and title only; http, https and mailto links, with
`rel="noopener noreferrer nofollow"`). Everything else — scripts, styles, event handlers, images,
iframes, unknown tags and attributes — is removed, and a warning `html_sanitized` names the field
(`path` into the canonical payload, `source_path` into what the source sent). Text is never
removed. The list is written out here, not imported, so that a change of the code that the
documentation does not follow fails a test.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.db.engine import Database
from catalog_gateway.gateway.sanitize import clean_html
from tests.factories import bearer
from tests.gateway.payloads import COURSE_KEY, envelope, product_payload
from tests.protection.conftest import ClientFactory, add_source, post_event

DOCUMENTED_TAGS = [
    "p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup", "ul", "ol", "li",
    "h2", "h3", "h4", "h5", "h6", "blockquote", "code", "pre", "a",
]  # fmt: skip
REL = 'rel="noopener noreferrer nofollow"'


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def key(database: Database) -> str:
    return add_source(database, "exec-ed")


def _sanitized(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in answer["warnings"] if w["code"] == "html_sanitized"]


def _instructor(client: TestClient, answer: dict[str, Any], external_id: str) -> dict[str, Any]:
    for instructor_uuid in answer["products"]["instructors"]:
        instructor: dict[str, Any] = client.get(f"/api/v1/instructors/{instructor_uuid}").json()
        if instructor["external_id"] == external_id:
            return instructor
    raise AssertionError(f"no instructor {external_id} among the event's products")


def test_dangerous_html_is_removed_with_a_warning_per_field(client: TestClient, key: str) -> None:
    product = product_payload(
        full_description="<p>ok</p><script>x()</script>",
        syllabus="<p>Week 1</p><img src=x onerror=y>",
    )
    product["instructors"][0]["bio"] = '<p>Read <a href="javascript:x">my page</a>.</p>'

    response = post_event(client, envelope("dirty-1", product), key)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    warnings = _sanitized(answer)
    assert sorted((w["path"], w["source_path"]) for w in warnings) == [
        ("/course/full_description", "/course/full_description"),
        ("/course/syllabus", "/course/syllabus"),
        ("/instructors/0/bio", "/instructors/0/bio"),
    ]
    assert all(w["step"] and w["message"] for w in warnings)
    assert answer["errors"] == []

    course = client.get(f"/api/v1/courses/{COURSE_KEY}").json()
    assert course["full_description"] == "<p>ok</p>"
    assert course["syllabus"] == "<p>Week 1</p>"
    bio = _instructor(client, answer, "in-1")["bio"]
    assert "javascript:" not in bio
    assert "my page" in bio  # text is never removed
    for stored in (course["full_description"], course["syllabus"], bio):
        assert "<script" not in stored
        assert "x()" not in stored
        assert "<img" not in stored
        assert "onerror" not in stored


def test_every_course_rich_text_field_is_cleaned(client: TestClient, key: str) -> None:
    fields = [
        "short_description",
        "full_description",
        "outcome",
        "syllabus",
        "prerequisites",
        "faq",
        "learner_testimonials",
    ]
    dirty = "<p>{}</p><style>p{{}}</style><iframe src=https://e.org></iframe>"
    product = product_payload(**{field: dirty.format(field) for field in fields})

    response = post_event(client, envelope("dirty-2", product), key)

    assert response.status_code == 200, response.text
    paths = sorted(w["path"] for w in _sanitized(response.json()))
    assert paths == sorted(f"/course/{field}" for field in fields)
    course = client.get(f"/api/v1/courses/{COURSE_KEY}").json()
    assert {field: course[field] for field in fields} == {
        field: f"<p>{field}</p>" for field in fields
    }


def test_harmless_html_is_kept_without_a_warning(client: TestClient, key: str) -> None:
    product = product_payload(
        full_description="<p>A &amp; B</p>",
        syllabus="<ul><li>x</li><li><strong>y</strong></li></ul>",
        faq='<p>See <a href="https://example.org/faq" title="FAQ">the FAQ</a>.</p>',
    )

    response = post_event(client, envelope("clean-1", product), key)

    assert response.status_code == 200, response.text
    assert _sanitized(response.json()) == []
    course = client.get(f"/api/v1/courses/{COURSE_KEY}").json()
    assert course["full_description"] == "<p>A &amp; B</p>"
    assert course["syllabus"] == "<ul><li>x</li><li><strong>y</strong></li></ul>"
    # a link is only normalised: our rel is added, nothing the reader sees changes
    assert course["faq"] in (
        '<p>See <a href="https://example.org/faq" title="FAQ">the FAQ</a>.</p>',
        f'<p>See <a href="https://example.org/faq" title="FAQ" {REL}>the FAQ</a>.</p>',
    )


def test_instructor_upsert_bio_is_cleaned(client: TestClient, key: str) -> None:
    event = envelope(
        "ins-1",
        {
            "instructor": {
                "external_id": "in-9",
                "given_name": "Ada",
                "bio": '<p onclick="steal()">Hi</p><script>alert(1)</script>',
            }
        },
        "instructor.upsert",
    )

    response = post_event(client, event, key)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(w["path"], w["source_path"]) for w in _sanitized(answer)] == [
        ("/instructor/bio", "/instructor/bio")
    ]
    assert _instructor(client, answer, "in-9")["bio"] == "<p>Hi</p>"


def test_degree_overview_is_sanitised(client: TestClient, key: str) -> None:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MIT",
        "overview": '<h2>Why</h2><p>Great.</p><iframe src="https://evil.example"></iframe>'
        '<a href="data:text/html,x">x</a>',
    }

    response = post_event(client, envelope("deg-1", {"degree": degree}, "degree.upsert"), key)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert [(w["path"], w["source_path"]) for w in _sanitized(answer)] == [
        ("/degree/overview", "/degree/overview")
    ]
    overview = client.get("/api/v1/degrees/masters-data-science").json()["overview"]
    assert overview.startswith("<h2>Why</h2><p>Great.</p>")
    assert "iframe" not in overview
    assert "data:" not in overview


def test_dry_run_reports_the_sanitising_too(client: TestClient, key: str) -> None:
    product = product_payload(full_description="<p>ok</p><script>x()</script>")

    response = client.post(
        "/api/v1/events",
        json=envelope("dry-1", product),
        params={"dry_run": "true"},
        headers=bearer(key),
    )

    assert response.status_code == 200, response.text
    assert [w["path"] for w in _sanitized(response.json())] == ["/course/full_description"]


# --- clean_html against the documented allow-list ----------------------------------------


@pytest.mark.parametrize("tag", [t for t in DOCUMENTED_TAGS if t not in ("br", "a")])
def test_every_allowed_tag_is_kept(tag: str) -> None:
    assert clean_html(f"<{tag}>text</{tag}>") == f"<{tag}>text</{tag}>"


def test_br_is_kept() -> None:
    assert clean_html("one<br>two") == "one<br>two"


@pytest.mark.parametrize(
    "href", ["https://example.org/x", "http://example.org/x", "mailto:someone@example.org"]
)
def test_links_keep_href_and_title_and_get_our_rel(href: str) -> None:
    assert (
        clean_html(f'<a href="{href}" title="T">x</a>') == f'<a href="{href}" title="T" {REL}>x</a>'
    )


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://example.org/x", "vbscript:x"]
)
def test_links_to_other_schemes_lose_their_href(href: str) -> None:
    cleaned = clean_html(f'<a href="{href}">x</a>')
    assert "href" not in cleaned
    assert ">x</a>" in cleaned


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<script>alert(1)</script>ok", "ok"),
        ("<style>p{color:red}</style>ok", "ok"),
        ('<img src="x" onerror="y">ok', "ok"),
        ('<iframe src="https://e.org"></iframe>ok', "ok"),
        ('<object data="x"></object>ok', "ok"),
        ('<embed src="x">ok', "ok"),
        ('<form action="x"><input name="y"></form>ok', "ok"),
        ("<svg><circle></circle></svg>ok", "ok"),
        ("<h1>Title</h1>", "Title"),
        ("<div>text</div>", "text"),
        ("<span>text</span>", "text"),
        ("<table><tr><td>cell</td></tr></table>", "cell"),
        ("<blink>unknown</blink>", "unknown"),
    ],
)
def test_disallowed_tags_are_removed_and_their_text_kept(dirty: str, clean: str) -> None:
    assert clean_html(dirty) == clean


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<p class="c" id="i" style="color:red" onclick="x()">t</p>', "<p>t</p>"),
        ('<strong onmouseover="x()" data-x="1">t</strong>', "<strong>t</strong>"),
        # `title` is allowed on links only; `lang` on nothing
        ('<li lang="en" title="t" dir="rtl">t</li>', "<li>t</li>"),
        ('<p title="hover">t</p>', "<p>t</p>"),
        (
            '<a href="https://e.org" onclick="x()" target="_blank" class="c" rel="opener">t</a>',
            f'<a href="https://e.org" {REL}>t</a>',
        ),
    ],
)
def test_attributes_other_than_a_href_and_title_are_removed(dirty: str, clean: str) -> None:
    assert clean_html(dirty) == clean


def test_clean_html_keeps_plain_text_and_entities() -> None:
    assert clean_html("Fish &amp; chips, 3 &lt; 4") == "Fish &amp; chips, 3 &lt; 4"
