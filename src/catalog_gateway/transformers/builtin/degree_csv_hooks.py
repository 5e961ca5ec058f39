"""Hooks of degree_csv.yaml: the degree spreadsheet's names → the catalog's slugs and tags."""

from __future__ import annotations

from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.builtin.values import language_tag, subject_slug
from catalog_gateway.transformers.mapping import HookContext


def slug_from_name(value: Any, ctx: HookContext) -> str | None:
    """A name's slug ("Computer Science" → "computer-science"); a slug stays as it is."""
    if not isinstance(value, str) or not value.strip():
        return None
    return subject_slug(value)


def content_language(value: Any, ctx: HookContext) -> str | None:
    """A language name ("English", "Spanish - Latin America") or tag → its IETF tag."""
    if not isinstance(value, str) or not value.strip():
        return None
    tag = language_tag(value)
    if tag is None:
        ctx.warn(
            ErrorCode.INVALID_LANGUAGE,
            f"`{ctx.source_path}` names no language we know: {value.strip()!r}; "
            "write a language name such as English or a tag such as en-US",
        )
    return tag
