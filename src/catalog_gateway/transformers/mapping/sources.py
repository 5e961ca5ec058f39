"""Where a field rule takes its value from: `path`, `first_of`, `const`, `template`, `html`,
or nothing (a rule with only a `hook`)."""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass
from typing import Any, Protocol

from catalog_gateway.transformers.mapping.pointers import SourcePath
from catalog_gateway.transformers.mapping.run import Run, Scope
from catalog_gateway.transformers.mapping.values import MISSING, is_empty, one_of


class Source(Protocol):
    """Where a field rule takes its value from."""

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        """The raw value and the source pointer it came from (None: not from the payload)."""
        ...

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        """How to name the source in "… is required"."""
        ...


@dataclass(frozen=True, slots=True)
class FromPath:
    """`path:` (and the string shorthand)."""

    path: SourcePath

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        return self.path.locate(scope.item, scope.pointer, run.root)

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        return f"`{self.path.locate(scope.item, scope.pointer, run.root)[1]}`"


@dataclass(frozen=True, slots=True)
class FirstOf:
    """`first_of:` — the first path with a non-empty value."""

    paths: tuple[SourcePath, ...]

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        first = None
        for path in self.paths:
            value, pointer = path.locate(scope.item, scope.pointer, run.root)
            if not is_empty(value):
                return value, pointer
            first = first or pointer
        return MISSING, first

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        return one_of(path.locate(scope.item, scope.pointer, run.root)[1] for path in self.paths)


@dataclass(frozen=True, slots=True)
class Const:
    """`const:` — the same value for every event."""

    value: Any

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        if isinstance(self.value, list | dict):
            return copy.deepcopy(self.value), None
        return self.value, None

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        return f"`{out}`"


@dataclass(frozen=True, slots=True)
class NoSource:
    """A rule with only a `hook`, which builds the value itself."""

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        return MISSING, None

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        return f"`{out}`"


@dataclass(frozen=True, slots=True)
class Template:
    """`template:` + `fields:` — text assembled from several source fields."""

    template: str
    fields: tuple[tuple[str, SourcePath], ...]

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        values: dict[str, Any] = {}
        first = used = None
        for name, path in self.fields:
            value, pointer = path.locate(scope.item, scope.pointer, run.root)
            first = first or pointer
            if is_empty(value):
                values[name] = ""
            else:
                values[name] = value
                used = used or pointer
        if used is None:
            return MISSING, first
        return self.template.format_map(values), used

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        pointers = (path.locate(scope.item, scope.pointer, run.root)[1] for _, path in self.fields)
        return one_of(pointers)


@dataclass(frozen=True, slots=True)
class Html:
    """`html:` — a list of objects (or scalars) rendered as escaped HTML items."""

    items: SourcePath
    item: str
    names: tuple[str, ...]
    wrap: str | None
    title: SourcePath | None
    title_tag: str
    intro: SourcePath | None = None

    def extract(self, scope: Scope, run: Run) -> tuple[Any, str | None]:
        value, pointer = self.items.locate(scope.item, scope.pointer, run.root)
        if is_empty(value):
            return MISSING, pointer
        parts = [
            self.item.format_map(fields)
            for element in (value if isinstance(value, list) else [value])
            if any((fields := self._fields(element)).values())
        ]
        if not parts:
            return MISSING, pointer
        body = "".join(parts)
        if self.wrap is not None:
            body = f"<{self.wrap}>{body}</{self.wrap}>"
        if self.intro is not None:
            intro, _ = self.intro.locate(scope.item, scope.pointer, run.root)
            if not is_empty(intro) and _escaped(intro):
                body = f"<p>{_escaped(intro)}</p>{body}"
        if self.title is not None:
            title, _ = self.title.locate(scope.item, scope.pointer, run.root)
            if not is_empty(title):
                body = f"<{self.title_tag}>{_escaped(title)}</{self.title_tag}>{body}"
        return body, pointer

    def missing(self, scope: Scope, run: Run, out: str) -> str:
        return f"`{self.items.locate(scope.item, scope.pointer, run.root)[1]}`"

    def _fields(self, element: Any) -> dict[str, str]:
        if isinstance(element, dict):
            return {name: _escaped(element.get(name)) for name in self.names}
        return {name: _escaped(element) if name == "value" else "" for name in self.names}


def _escaped(value: Any) -> str:
    if value is None or value is MISSING:
        return ""
    return html.escape(str(value).strip() if isinstance(value, str) else str(value))
