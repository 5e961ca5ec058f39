"""A source's own values for catalog values: operators alias what a line of business writes
("Mktg & Design", "Englisch", "Beginner") to a subject, a language or a level the catalog knows,
without editing a mapping file (`catalog-gateway sources map-value`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import langcodes
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from catalog_gateway.catalog.changes import Action, Upserted, assign_changed
from catalog_gateway.catalog.fields import LANGUAGE_TAG_MAX_LENGTH
from catalog_gateway.catalog.vocabulary import Vocabulary, reference_key
from catalog_gateway.errors import ErrorCode, InvalidValueError, NotFoundError
from catalog_gateway.sources.models import SourceValueAlias
from catalog_gateway.sources.service import get_source

_MAX_LOB_VALUE = 255


class AliasedField(StrEnum):
    """The fields whose values a source may alias."""

    SUBJECT = "subject"
    LANGUAGE = "language"
    LEVEL = "level"


@dataclass(frozen=True, slots=True)
class ValueAliases:
    """One source's aliases: (field, folded source value) → catalog value."""

    by_key: Mapping[tuple[AliasedField, str], str] = field(default_factory=dict)

    def lookup(self, aliased: AliasedField, lob_value: str) -> str | None:
        """The catalog value the source means by `lob_value`, if an operator aliased it."""
        return self.by_key.get((aliased, reference_key(lob_value))) if self.by_key else None


NO_ALIASES = ValueAliases()

_OF_SOURCE = select(
    SourceValueAlias.field, SourceValueAlias.lob_key, SourceValueAlias.catalog_value
).where(SourceValueAlias.source_id == bindparam("source_id"))


def load_aliases(connection: Connection, source_id: int) -> ValueAliases:
    """Every alias of one source, in one query."""
    rows = connection.execute(_OF_SOURCE, {"source_id": source_id}).all()
    return ValueAliases({(AliasedField(kind), key): value for kind, key, value in rows})


def map_value(
    session: Session,
    slug: str,
    aliased: str,
    lob_value: str,
    catalog_value: str,
    vocabulary: Vocabulary,
) -> Upserted[SourceValueAlias]:
    """Let source `slug` write `lob_value` for `catalog_value` in `aliased` (created, updated
    to a new catalog value, or unchanged)."""
    source = get_source(session, slug)
    kind = _field(aliased)
    key = _key(lob_value)
    target = catalog_value_of(kind, catalog_value, vocabulary)
    alias = _find(session, source.id, kind, key)
    if alias is None:
        alias = SourceValueAlias(
            source_id=source.id,
            field=kind.value,
            lob_value=lob_value.strip(),
            lob_key=key,
            catalog_value=target,
        )
        session.add(alias)
        session.flush()
        return Upserted(alias, Action.CREATED)
    changed = assign_changed(alias, {"lob_value": lob_value.strip(), "catalog_value": target})
    session.flush()
    return Upserted(alias, Action.UPDATED if changed else Action.UNCHANGED)


def unmap_value(session: Session, slug: str, aliased: str, lob_value: str) -> SourceValueAlias:
    """Remove an alias; the source's value means only what it says again."""
    source = get_source(session, slug)
    kind = _field(aliased)
    alias = _find(session, source.id, kind, _key(lob_value))
    if alias is None:
        raise NotFoundError(f"source {slug} has no {kind.value} alias for {lob_value!r}")
    session.delete(alias)
    session.flush()
    return alias


def _find(
    session: Session, source_id: int, kind: AliasedField, key: str
) -> SourceValueAlias | None:
    return session.scalar(
        select(SourceValueAlias).where(
            SourceValueAlias.source_id == source_id,
            SourceValueAlias.field == kind.value,
            SourceValueAlias.lob_key == key,
        )
    )


def list_aliases(session: Session, slug: str) -> list[SourceValueAlias]:
    """A source's aliases, by field and value."""
    source = get_source(session, slug)
    return list(
        session.scalars(
            select(SourceValueAlias)
            .where(SourceValueAlias.source_id == source.id)
            .order_by(SourceValueAlias.field, SourceValueAlias.lob_key)
        )
    )


def catalog_value_of(kind: AliasedField, text: str, vocabulary: Vocabulary) -> str:
    """The catalog value `text` names for `kind` (a subject or level by slug or name, a
    language by its IETF tag), or an error that lists what is accepted."""
    value = text.strip()
    found: str | None
    if kind is AliasedField.SUBJECT:
        found = vocabulary.resolve_subject(value)
        known = "a subject's slug or English name (`catalog-gateway subjects list`)"
    elif kind is AliasedField.LEVEL:
        found = vocabulary.resolve_level(value)
        known = f"a level: {', '.join(sorted(vocabulary.levels))}"
    else:
        valid = len(value) <= LANGUAGE_TAG_MAX_LENGTH and langcodes.tag_is_valid(value)
        found = langcodes.standardize_tag(value) if valid else None
        known = (
            f"an IETF language tag such as en, en-US or es-419 (at most "
            f"{LANGUAGE_TAG_MAX_LENGTH} characters)"
        )
    if found is None:
        raise InvalidValueError(
            f"{value!r} is not a catalog {kind.value}; give {known}",
            code=_UNKNOWN[kind],
            field="catalog_value",
        )
    return found


_UNKNOWN = {
    AliasedField.SUBJECT: ErrorCode.UNKNOWN_SUBJECT,
    AliasedField.LEVEL: ErrorCode.UNKNOWN_LEVEL,
    AliasedField.LANGUAGE: ErrorCode.INVALID_LANGUAGE,
}


def _field(text: str) -> AliasedField:
    try:
        return AliasedField(text)
    except ValueError:
        known = ", ".join(kind.value for kind in AliasedField)
        raise InvalidValueError(
            f"field {text!r} cannot be aliased; aliased fields: {known}",
            code=ErrorCode.INVALID_REQUEST,
            field="field",
        ) from None


def _key(lob_value: str) -> str:
    key = reference_key(lob_value)
    if not key or max(len(key), len(lob_value.strip())) > _MAX_LOB_VALUE:
        raise InvalidValueError(
            f"the source's value {lob_value!r} must hold a letter or digit and be at most "
            f"{_MAX_LOB_VALUE} characters",
            code=ErrorCode.INVALID_REQUEST,
            field="lob_value",
        )
    return key
