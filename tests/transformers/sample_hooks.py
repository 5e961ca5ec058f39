"""Hook functions the mapping tests name (`hooks: tests.transformers.sample_hooks`)."""

from __future__ import annotations

from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.mapping import HookContext


def shout(value: Any, ctx: HookContext) -> Any:
    """Upper-cases text (after the rule's own steps)."""
    return value.upper() if isinstance(value, str) else value


def describe_context(value: Any, ctx: HookContext) -> str:
    """Everything a hook sees, as text."""
    name, name_path = ctx.read("$/name")
    local, local_path = ctx.read("/id")
    return (
        f"value={value} source={ctx.source_path} canonical={ctx.canonical_path} "
        f"root.name={name}@{name_path} item.id={local}@{local_path} "
        f"item_is_dict={isinstance(ctx.item, dict)} root_has_name={'name' in ctx.root}"
    )


def build_runs(value: Any, ctx: HookContext) -> list[dict[str, Any]]:
    """Builds course runs from `/sessions` itself, recording their provenance."""
    runs = []
    sessions, sessions_path = ctx.read("/sessions")
    for index, session in enumerate(sessions or []):
        ctx.record(f"{ctx.canonical_path}/{index}", f"{sessions_path}/{index}")
        ctx.record(f"{ctx.canonical_path}/{index}/start", f"{sessions_path}/{index}/from")
        runs.append({"external_id": session["id"], "start": session["from"]})
    return runs


def reject_draft(value: Any, ctx: HookContext) -> Any:
    """Refuses the value "draft" (an error) and flags "beta" (a warning)."""
    if value == "draft":
        ctx.error(ErrorCode.INVALID_VALUE, f"`{ctx.source_path}` is a draft")
        return None
    if value == "beta":
        ctx.warn("invalid_value", f"`{ctx.source_path}` is a beta", path="/course")
    return value


def explode(value: Any, ctx: HookContext) -> Any:
    """A hook with a bug."""
    raise KeyError("missing")
