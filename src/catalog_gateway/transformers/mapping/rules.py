"""Compiled rules: the objects a mapping file becomes, each building one part of the payload.

A node's `build(scope, out, run)` returns the value for canonical pointer `out` (MISSING when
there is none), recording provenance and problems in `run` as it goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.mapping.hooks import BoundHook
from catalog_gateway.transformers.mapping.pointers import CURRENT, SourcePath
from catalog_gateway.transformers.mapping.run import Run, Scope
from catalog_gateway.transformers.mapping.sources import Source
from catalog_gateway.transformers.mapping.steps import Step
from catalog_gateway.transformers.mapping.values import (
    MISSING,
    UnusableValueError,
    is_empty,
    one_of,
)


class Node(Protocol):
    """One output value: a field rule, an `each` list or an object."""

    def build(self, scope: Scope, out: str, run: Run) -> Any:
        """The value for canonical pointer `out`, or MISSING."""
        ...


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One output field: source → steps → hook, then the `required` check."""

    source: Source
    steps: tuple[Step, ...]
    hook: BoundHook | None
    required: bool
    strict: bool
    when_in: frozenset[str] | None

    def build(self, scope: Scope, out: str, run: Run) -> Any:
        if self.when_in is not None and self.when_in.isdisjoint(scope.origins):
            return MISSING
        value, pointer = self.source.extract(scope, run)
        if pointer is not None:
            run.provenance.record(out, pointer)
        problems: list[UnusableValueError] = []
        for step in self.steps:
            value = step.run(value, problems)
        for problem in problems:
            subject = f"`{pointer}`" if pointer is not None else f"`{out}`"
            run.report(self.strict, problem.code, f"{subject} {problem.text}", out, pointer)
        if self.hook is not None:
            value = self.hook.call(value, scope, out, pointer, run)
        if is_empty(value):
            if self.required and not (problems and self.strict):  # one error per field
                name = self.source.missing(scope, run, out)
                run.report(True, ErrorCode.REQUIRED, f"{name} is required", out, pointer)
            return MISSING
        return value


@dataclass(frozen=True, slots=True)
class EachRule:
    """`each:` + `fields:` — one object per item of the source lists, in order."""

    paths: tuple[SourcePath, ...]
    fields: ObjectRule
    hook: BoundHook | None
    required: bool
    when_in: frozenset[str] | None

    def build(self, scope: Scope, out: str, run: Run) -> Any:
        if self.when_in is not None and self.when_in.isdisjoint(scope.origins):
            return MISSING
        items: list[Any] = []
        pointers = []
        for path in self.paths:
            value, pointer = path.locate(scope.item, scope.pointer, run.root)
            pointers.append(pointer)
            if is_empty(value):
                continue
            origins = scope.origins if path.text == CURRENT else (*scope.origins, path.text)
            if not isinstance(value, list):
                self._add(items, Scope(value, pointer, origins), out, run)
                continue
            for index, element in enumerate(value):
                if not is_empty(element):
                    self._add(items, Scope(element, f"{pointer}/{index}", origins), out, run)
        run.provenance.record(out, pointers[0])
        result: Any = items
        if self.hook is not None:
            result = self.hook.call(items, scope, out, pointers[0], run)
        if is_empty(result):
            if self.required:
                run.report(
                    True, ErrorCode.REQUIRED, f"{one_of(pointers)} is required", out, pointers[0]
                )
            return MISSING
        return result

    def _add(self, items: list[Any], item: Scope, out: str, run: Run) -> None:
        item_out = f"{out}/{len(items)}"
        run.provenance.record(item_out, item.pointer)
        items.append(self.fields.build(item, item_out, run))


@dataclass(frozen=True, slots=True)
class OutputField:
    """One key of an output object. `keep_empty`: a required object stays even when empty,
    so validation names its missing fields rather than the object."""

    name: str
    segment: str
    node: Node
    keep_empty: bool = False


@dataclass(frozen=True, slots=True)
class ObjectRule:
    """An output object: its fields, empty ones left out (so canonical defaults apply)."""

    fields: tuple[OutputField, ...]

    def build(self, scope: Scope, out: str, run: Run) -> Any:
        result = {}
        for field in self.fields:
            value = field.node.build(scope, out + field.segment, run)
            if field.keep_empty or not is_empty(value):
                result[field.name] = value
        return result
