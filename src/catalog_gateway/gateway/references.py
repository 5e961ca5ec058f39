"""Reference values as the catalog knows them: a transformed payload's subjects, levels and
languages, rewritten to catalog values before validation.

A value resolves, first to last, by
1. the source's own alias for it (`sources map-value`), matched on what the source's field holds
   and then on what the transformer made of it;
2. for subjects and levels: a slug, or a slug or English name written loosely (any case,
   accents or punctuation, `&` for `and`);
3. for languages: the IETF tag the transformer wrote.

A subject or level that does not resolve is an error at its field that says how an operator
adds it or aliases the source's value. A language that is no tag is left to validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.errors import ErrorCode
from catalog_gateway.gateway.validation import Finding
from catalog_gateway.pointers import join
from catalog_gateway.sources.aliases import AliasedField, ValueAliases

# Canonical member → the field its values are aliased as, and whether it holds a list.
_REFERENCES: dict[str, tuple[AliasedField, bool]] = {
    "subjects": (AliasedField.SUBJECT, True),
    "primary_subject": (AliasedField.SUBJECT, False),
    "level": (AliasedField.LEVEL, False),
    "content_language": (AliasedField.LANGUAGE, False),
    "transcript_languages": (AliasedField.LANGUAGE, True),
}
# The objects of a canonical payload that hold reference values.
_HOLDERS = ("course", "run", "degree", "course_runs")

# Canonical path → (the source pointer it came from, what the source holds there): (None, None)
# when not known.
SourceValue = Callable[[str], tuple[str | None, Any]]
# Several list items from one source text (a split column) were written with one of these.
_SEPARATORS = (",", "|", ";")


def resolve_references(
    canonical: dict[str, Any],
    vocabulary: Vocabulary,
    aliases: ValueAliases,
    source_value: SourceValue,
    source_slug: str,
) -> list[Finding]:
    """Rewrite `canonical`'s subjects, levels and languages to catalog values, in place; the
    errors of those that name nothing the catalog knows. `source_value(path)`: where the
    source wrote what a canonical path came from, and what it holds there."""
    resolver = _Resolver(vocabulary, aliases, source_slug)
    for holder, path in _holders(canonical):
        for member, (kind, many) in _REFERENCES.items():
            value = holder.get(member)
            if many and isinstance(value, list):
                paths = [join(path, member, index) for index in range(len(value))]
                for index, item in enumerate(value):
                    written = _item_as_written(source_value, paths, index)
                    value[index] = resolver.resolve(kind, item, paths[index], written)
            elif not many and value is not None:
                at = join(path, member)
                written = _item_as_written(source_value, [at], 0)
                holder[member] = resolver.resolve(kind, value, at, written)
    return resolver.findings


def _item_as_written(source_value: SourceValue, paths: list[str], index: int) -> Written:
    """How the source wrote a list's item: its own field, or, when the list was split from one
    text ("English, Spanish"), that text's part for the item (None when the parts do not match
    the items one to one)."""

    def written() -> Any:
        pointer, text = source_value(paths[index])
        if len(paths) == 1 or not isinstance(text, str):
            return text
        if sum(source_value(path)[0] == pointer for path in paths) == 1:
            return text  # the item's own field (e.g. a primary, secondary, tertiary column)
        for separator in _SEPARATORS:
            parts = [part.strip() for part in text.split(separator)]
            if len(parts) == len(paths):
                return parts[index]
        return None

    return written


def _holders(canonical: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for name in _HOLDERS:
        value = canonical.get(name)
        if isinstance(value, dict):
            yield value, f"/{name}"
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield item, join(f"/{name}", index)


Written = Callable[[], Any]  # what the source wrote for a value, read only when needed


class _Resolver:
    def __init__(self, vocabulary: Vocabulary, aliases: ValueAliases, source_slug: str) -> None:
        self.vocabulary = vocabulary
        self.aliases = aliases
        self.source_slug = source_slug
        self.findings: list[Finding] = []

    def resolve(self, kind: AliasedField, value: Any, path: str, written: Written) -> Any:
        """The catalog value for `value` at `path`, or `value` as it was (with a finding when
        it names no subject or level). `written`: what the source wrote for it."""
        if not isinstance(value, str):
            return value  # the schema reports it
        aliased = self._aliased(kind, value, written)
        if aliased is not None:
            return aliased
        if kind is AliasedField.LANGUAGE:
            return value
        found = (
            self.vocabulary.resolve_subject(value)
            if kind is AliasedField.SUBJECT
            else self.vocabulary.resolve_level(value)
        )
        if found is None:
            self.findings.append(self._unknown(kind, value, path, written()))
            return value
        return found

    def _aliased(self, kind: AliasedField, value: str, written: Written) -> str | None:
        if not self.aliases.by_key:  # most sources alias nothing: no source field is read
            return None
        text = written()
        if isinstance(text, str) and text != value:
            aliased = self.aliases.lookup(kind, text)
            if aliased is not None:
                return aliased
        return self.aliases.lookup(kind, value)

    def _unknown(self, kind: AliasedField, value: str, path: str, written: Any) -> Finding:
        shown = written if isinstance(written, str) and written.strip() else value
        alias = (
            f"`catalog-gateway sources map-value {self.source_slug} {kind.value} "
            f'"{shown}" CATALOG_VALUE`'
        )
        if kind is AliasedField.SUBJECT:
            return Finding(
                ErrorCode.UNKNOWN_SUBJECT,
                f"unknown subject {shown!r}: an operator can add it (`catalog-gateway subjects "
                f'create SLUG --name "{shown}"`) or alias this source\'s value to a catalog '
                f"subject ({alias})",
                path,
            )
        return Finding(
            ErrorCode.UNKNOWN_LEVEL,
            f"unknown level {shown!r}; the catalog's levels are "
            f"{', '.join(sorted(self.vocabulary.levels))}: an operator can alias this "
            f"source's value to one of them ({alias})",
            path,
        )
