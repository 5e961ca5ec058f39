"""Rich-text fields are cleaned to an allow-list of HTML (nh3) before validation.

Allowed tags: p, br, strong, b, em, i, u, s, sub, sup, ul, ol, li, h2, h3, h4, h5, h6,
blockquote, code, pre, a (href and title only; http, https and mailto links, with
`rel="noopener noreferrer nofollow"`). Everything else — scripts, styles, event handlers,
images, iframes, unknown tags and attributes — is removed, and a warning
`html_sanitized` names the field. Text is never removed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import nh3

from catalog_gateway.errors import ErrorCode
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.validation import Finding
from catalog_gateway.pointers import join

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup", "ul", "ol", "li",
        "h2", "h3", "h4", "h5", "h6", "blockquote", "code", "pre", "a",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
COURSE_RICH_TEXT = (
    "short_description",
    "full_description",
    "outcome",
    "syllabus",
    "prerequisites",
    "faq",
    "learner_testimonials",
)


def sanitize(event_type: EventType, payload: dict[str, Any]) -> list[Finding]:
    """Clean every rich-text field of `payload` in place; a warning for each one changed."""
    warnings = []
    for container, field, path in _rich_text_fields(event_type, payload):
        value = container.get(field)
        if not isinstance(value, str):
            continue
        cleaned = clean_html(value)
        if cleaned == value:
            continue
        container[field] = cleaned
        if _meaning(cleaned) != _meaning(value):
            warnings.append(
                Finding(
                    ErrorCode.HTML_SANITIZED,
                    f"{field}: HTML outside the allowed tags and attributes was removed "
                    "(see docs/events.md, rich text)",
                    path,
                )
            )
    return warnings


def clean_html(value: str) -> str:
    """`value` with only the allowed HTML left."""
    return nh3.clean(
        value,
        tags=set(ALLOWED_TAGS),
        # "*": nothing, or ammonia keeps `lang` and `title` on every tag.
        attributes={"*": set()} | {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
    )


def _meaning(html_text: str) -> str:
    """What a reader would notice: entities decoded, our own `rel` and `<br/>` spelling aside,
    so that escaping `&` or marking links `nofollow` is not reported as a removal."""
    text = html.unescape(html_text).replace(f' rel="{LINK_REL}"', "")
    return re.sub(r"<br\s*/?>", "<br>", text)


def _rich_text_fields(
    event_type: EventType, payload: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], str, str]]:
    course = payload.get("course")
    if isinstance(course, dict) and event_type in (
        EventType.PRODUCT_UPSERT,
        EventType.COURSE_UPSERT,
    ):
        for field in COURSE_RICH_TEXT:
            yield course, field, join("/course", field)
    instructor = payload.get("instructor")
    if isinstance(instructor, dict):
        yield instructor, "bio", "/instructor/bio"
    instructors = payload.get("instructors")
    if isinstance(instructors, list):
        for index, item in enumerate(instructors):
            if isinstance(item, dict):
                yield item, "bio", join("/instructors", index, "bio")
    degree = payload.get("degree")
    if isinstance(degree, dict):
        yield degree, "overview", "/degree/overview"
