"""Hooks of `exec_ed_product_api.yaml`: what the executive-education product API needs beyond
the mapping rules (see the mapping file for which field uses which hook)."""

from __future__ import annotations

from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.builtin.values import (
    effort_range,
    facts,
    language_as_written,
)
from catalog_gateway.transformers.mapping import HookContext
from catalog_gateway.transformers.mapping.values import is_empty

SEAT_TYPE = "unpaid-executive-education"  # the partner sells the product itself
DEFAULT_CURRENCY = "USD"
# Where runs come from, in the order the mapping lists them; custom presentations are B2B.
PUBLIC_VARIANT_LISTS = ("/variant", "/variants", "/futureVariants")
CUSTOM_PRESENTATIONS = "/customPresentations"
B2B_RESTRICTION = "custom-b2b-enterprise"
STATS = (("stat1", "stat1Blurb"), ("stat2", "stat2Blurb"))


def subjects(value: Any, ctx: HookContext) -> list[str] | None:
    """`altSubjectMatter`, a subject's name → [the name] (the gateway resolves it to a catalog
    subject, or to the subject an operator aliased it to)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return [value.strip()]


def content_language(value: Any, ctx: HookContext) -> str | None:
    """`language` ("English", "Español") → an IETF tag (a name of no language as written, for
    validation to report at `/language`)."""
    return language_as_written(value)


def transcript_languages(value: Any, ctx: HookContext) -> list[str] | None:
    """`language` → the one transcript language of every run."""
    language = language_as_written(value)
    return [language] if language else None


def stat_facts(value: Any, ctx: HookContext) -> list[dict[str, str]] | None:
    """`stats` {stat1, stat1Blurb, stat2, stat2Blurb} → marketing facts, empty ones left out."""
    return facts(value, ctx, STATS)


def restriction(value: Any, ctx: HookContext) -> str | None:
    """Custom presentations, and variants the website keeps `private`, are restricted runs
    (`custom-b2b-enterprise`, as the upstream catalog loads them): neither ever sets the
    course's public price."""
    if (ctx.source_path or "").startswith(f"{CUSTOM_PRESENTATIONS}/") or _is_private(value):
        return B2B_RESTRICTION
    return None


def _is_private(website_visibility: Any) -> bool:
    return (
        isinstance(website_visibility, str) and website_visibility.strip().casefold() == "private"
    )


def runs_with_effort(runs: Any, ctx: HookContext) -> Any:
    """Every run gets the product's `effort` as hours per week; a text with no number is one
    warning (not one per run) and no effort."""
    text, source_path = ctx.read("$/effort")
    if not isinstance(runs, list) or is_empty(text):
        return runs
    hours = effort_range(str(text))
    if hours is None:
        ctx.warn(
            ErrorCode.INVALID_EFFORT,
            f"`{source_path}` has no number of hours: {str(text)[:60]!r}; the runs have no effort",
            source_path=source_path,
        )
        return runs
    for index, run in enumerate(runs):
        run["min_effort"], run["max_effort"] = hours
        for field in ("min_effort", "max_effort"):
            ctx.record(f"{ctx.canonical_path}/{index}/{field}", source_path)
    return runs


def entitlement(value: Any, ctx: HookContext) -> dict[str, Any] | None:
    """The course's own price: the first public run's (custom presentations and private
    variants never set it)."""
    for list_path in PUBLIC_VARIANT_LISTS:
        variants, pointer = ctx.read(f"${list_path}")
        items = [(pointer, variants)] if isinstance(variants, dict) else []
        if isinstance(variants, list):
            items = [(f"{pointer}/{index}", variant) for index, variant in enumerate(variants)]
        for variant_path, variant in items:
            if not isinstance(variant, dict) or _is_private(variant.get("websiteVisibility")):
                continue
            price = variant.get("finalPrice")
            if is_empty(price):
                continue
            ctx.record(f"{ctx.canonical_path}/price", f"{variant_path}/finalPrice")
            ctx.record(f"{ctx.canonical_path}/currency", f"{variant_path}/currency")
            currency = variant.get("currency")
            return {
                "seat_type": SEAT_TYPE,
                "price": price,
                "currency": currency if not is_empty(currency) else DEFAULT_CURRENCY,
            }
    return None
