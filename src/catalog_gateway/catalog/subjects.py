"""Subjects are reference data operators manage: create one, list them, rename one.

A subject's slug is its identity (courses and degrees refer to it), so it never changes; its
English name is what transformers match a line of business's subject names against. No two
subjects may be matched by the same text, so a new slug or name must not fold (case, accents,
punctuation, `&` = `and`) to another subject's slug or name.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.catalog.changes import Action, Upserted, assign_changed
from catalog_gateway.catalog.reference import Subject
from catalog_gateway.catalog.vocabulary import reference_key
from catalog_gateway.errors import ConflictError, ErrorCode, InvalidValueError, NotFoundError

SUBJECT_SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_MAX_SLUG = 64
_MAX_NAME = 255


def list_subjects(session: Session) -> list[Subject]:
    """Every subject, by slug."""
    return list(session.scalars(select(Subject).order_by(Subject.slug)))


def create_subject(session: Session, slug: str, name: str) -> Upserted[Subject]:
    """Create a subject; `unchanged` when it exists with this name already (a different name is
    a conflict: `rename_subject` changes names)."""
    _check_slug(slug)
    name = _checked_name(name)
    existing = session.get(Subject, slug)
    if existing is not None:
        if existing.name == name:
            return Upserted(existing, Action.UNCHANGED)
        raise ConflictError(
            f"subject {slug} exists, named {existing.name!r}; rename it with "
            f"`catalog-gateway subjects rename {slug} --name {name!r}`",
            code=ErrorCode.SUBJECT_EXISTS,
            field="slug",
        )
    _refuse_ambiguity(session, slug, name)
    subject = Subject(slug=slug, name=name)
    session.add(subject)
    session.flush()
    return Upserted(subject, Action.CREATED)


def rename_subject(session: Session, slug: str, name: str) -> Upserted[Subject]:
    """Give a subject a new English name (its slug, which products refer to, stays)."""
    name = _checked_name(name)
    subject = session.get(Subject, slug)
    if subject is None:
        raise NotFoundError(
            f"no subject {slug!r} (`catalog-gateway subjects list` shows them)",
            code=ErrorCode.UNKNOWN_SUBJECT,
        )
    _refuse_ambiguity(session, slug, name)
    changed = assign_changed(subject, {"name": name})
    session.flush()
    return Upserted(subject, Action.UPDATED if changed else Action.UNCHANGED)


def _refuse_ambiguity(session: Session, slug: str, name: str) -> None:
    """Refuse a slug or name that another subject's slug or name would be matched by."""
    mine = {reference_key(slug), reference_key(name)}
    for other in session.scalars(select(Subject).where(Subject.slug != slug)):
        if mine & {reference_key(other.slug), reference_key(other.name)}:
            raise ConflictError(
                f"subject {other.slug} ({other.name!r}) would be matched by the same names as "
                f"{slug} ({name!r}); choose a slug and name that differ from it by more than "
                "case or punctuation",
                code=ErrorCode.SUBJECT_EXISTS,
                field="name",
            )


def _check_slug(slug: str) -> None:
    if len(slug) > _MAX_SLUG or not re.fullmatch(SUBJECT_SLUG_PATTERN, slug):
        raise InvalidValueError(
            f"subject slug {slug!r} must be lower-case words of a-z and 0-9 joined by '-', "
            f"at most {_MAX_SLUG} characters (e.g. design-and-marketing)",
            code=ErrorCode.INVALID_REQUEST,
            field="slug",
        )


def _checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not reference_key(name) or len(name) > _MAX_NAME:
        raise InvalidValueError(
            f"a subject's English name must hold a letter or digit and be at most {_MAX_NAME} "
            "characters",
            code=ErrorCode.INVALID_REQUEST,
            field="name",
        )
    return name
