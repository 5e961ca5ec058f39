"""Pure helpers the lines of business's hooks share: language names, subject names, effort
texts, instructors known only by name, and marketing facts.

Everything here is a plain function of its arguments (no I/O), cached where the same values
come back on every event.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import langcodes

from catalog_gateway.transformers.mapping import HookContext

# Region names partners write that the CLDR names langcodes knows do not cover.
_REGION_ALIASES = {"great britain": "GB", "britain": "GB", "usa": "US", "us": "US"}
_TAG_SHAPE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_DASHES = "-\u2013\u2014"  # hyphen, en dash, em dash
# "English - United States" (any dash between spaces), "Spanish (Latin America)".
_NAME_AND_QUALIFIER = re.compile(
    rf"(?P<name>[^(]+?)(?:\s+[{_DASHES}]\s+(?P<dash>.+)|\s*\((?P<paren>.+)\))"
)

_NUMBER = r"\d+(?:[.,]\d+)?"
# "7-10" (any dash), "7 - 10", "7 to 10", "4 a 6"; the first number in the text is the minimum.
_EFFORT = re.compile(
    rf"(?P<low>{_NUMBER})(?:\s*(?:[{_DASHES}]|\bto\b|\ba\b|\bhasta\b)\s*(?P<high>{_NUMBER}))?"
)

_MAX_STAFF_ID_SLUG = 200
_INITIAL = re.compile(r"\w\.?", re.UNICODE)


@lru_cache(maxsize=1024)
def language_tag(name_or_tag: str | None) -> str | None:
    """The IETF tag for a language name or tag, or None when it names no language.

    "English" → "en", "Español" → "es", "English - United States" → "en-US",
    "Spanish - Latin America" → "es-419", "en-us" → "en-US". A qualifier that is neither a
    region nor a script ("Chinese - Mandarin") is dropped: the language is still right.
    """
    text = (name_or_tag or "").strip()
    if not text:
        return None
    if _TAG_SHAPE.fullmatch(text) and not text.istitle() and langcodes.tag_is_valid(text):
        return langcodes.standardize_tag(text.replace("_", "-"))
    parts = _NAME_AND_QUALIFIER.fullmatch(text)
    name, qualifier = (text, None)
    if parts is not None:
        name, qualifier = parts["name"], parts["dash"] or parts["paren"]
    language = _language_by_name(name)
    if language is None:
        if langcodes.tag_is_valid(text):
            return langcodes.standardize_tag(text.replace("_", "-"))
        return None
    if qualifier:
        language = _qualified(language, qualifier.strip())
    return language.to_tag()


def _language_by_name(name: str) -> langcodes.Language | None:
    try:
        return langcodes.find(name)
    except LookupError:
        return None


def _qualified(language: langcodes.Language, qualifier: str) -> langcodes.Language:
    """`language` with the region or script that `qualifier` names, if it names one."""
    alias = _REGION_ALIASES.get(qualifier.lower())
    if alias is not None:
        return language.update_dict({"territory": alias})
    for kind in ("territory", "script"):
        try:
            found = langcodes.Language.find_name(kind, qualifier, "en")
        except LookupError:
            continue
        return language.update(found)
    return language


def subject_slug(name: str) -> str:
    """A subject's slug from its English name: "Data Analysis & Statistics" →
    "data-analysis-statistics" (lower-case, `&` dropped, each run of spaces → one `-`).

    A slug maps to itself, so sources may send either.
    """
    return "-".join(name.lower().replace("&", " ").split())


def effort_range(text: str | None) -> tuple[int, int] | None:
    """Hours per week from an effort text: "7-10 hours per week" (with any dash) → (7, 10),
    "7 hours per week" → (7, 7), "4-6 horas por semana" → (4, 6); None when the text has no
    number.

    Fractions are rounded to whole hours (the catalog keeps whole hours).
    """
    match = _EFFORT.search(text or "")
    if match is None:
        return None
    low = _whole_hours(match["low"])
    high = _whole_hours(match["high"]) if match["high"] else low
    return (min(low, high), max(low, high))


def _whole_hours(number: str) -> int:
    return int(Decimal(number.replace(",", ".")).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def normalised_name(name: str) -> str:
    """A person's name folded for comparison: accents removed, lower-case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(without_accents.casefold().split())


def staff_external_id(name: str) -> str:
    """A stable instructor id for a person the source names but does not identify:
    "José  Martínez" and "jose martinez" → "staff-jose-martinez".

    Names that leave no ASCII letters (or very long ones) get a digest of the name instead.
    """
    folded = normalised_name(name)
    slug = "-".join(re.findall(r"[a-z0-9]+", folded))
    if not slug or len(slug) > _MAX_STAFF_ID_SLUG:
        slug = hashlib.sha256(folded.encode()).hexdigest()[:16]
    return f"staff-{slug}"


def split_person_name(name: str) -> tuple[str, str | None]:
    """(given name, family name) of a full name: the first word and any initials after it are
    the given name, the rest the family name ("David J. Malan" → "David J.", "Malan"), which
    keeps "de la Cruz" and "García Márquez" together."""
    words = name.split()
    if not words:
        return ("", None)
    given = 1
    while given < len(words) - 1 and _INITIAL.fullmatch(words[given]):
        given += 1
    return (" ".join(words[:given]), " ".join(words[given:]) or None)


def facts(
    value: Any, ctx: HookContext, pairs: Sequence[tuple[str, str]]
) -> list[dict[str, str]] | None:
    """Marketing facts from an object's (heading key, blurb key) pairs, e.g. a product's
    `stats` {stat1, stat1Blurb, …}; pairs with neither are left out. Records provenance."""
    if not isinstance(value, dict):
        return None
    found: list[dict[str, str]] = []
    for heading_key, blurb_key in pairs:
        fact = {
            name: str(value[key]).strip()
            for name, key in (("heading", heading_key), ("blurb", blurb_key))
            if value.get(key) is not None and str(value[key]).strip()
        }
        if fact:
            at = f"{ctx.canonical_path}/{len(found)}"
            ctx.record(at, f"{ctx.source_path}/{heading_key}")
            ctx.record(f"{at}/blurb", f"{ctx.source_path}/{blurb_key}")
            found.append(fact)
    return found or None


def language_as_written(value: Any) -> str | None:
    """The IETF tag of a language name or tag; a text that names no language is kept as
    written, so that validation rejects it as `invalid_language` naming the source field."""
    if not isinstance(value, str) or not value.strip():
        return None
    return language_tag(value) or value.strip()
