"""Hooks: Python functions a mapping file names for what its rules cannot say.

A hook is `hook(value, ctx) -> value`. It runs last (after `decode`, `default`, `split`, `map`
and `type`), receives None when there is no value, and returns the field's value (None or an
empty value leaves the field out). `ctx` is a `HookContext`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from catalog_gateway.errors import ErrorCode
from catalog_gateway.transformers.mapping.pointers import cached_source_path
from catalog_gateway.transformers.mapping.run import Run, Scope
from catalog_gateway.transformers.mapping.values import MISSING

Hook = Callable[[Any, "HookContext"], Any]


class HookContext:
    """What a hook may see and do: the payload, the current item, and the field's paths.

    - `root`: the raw payload; `item`: the current scope (an `each` item, or the payload).
    - `source_path` / `canonical_path`: the field's source pointer (None when the rule has no
      path) and its pointer in the canonical payload.
    - `read(path)`: a value by source path (`/x` from the item, `$/x` from the root) and its
      source pointer; None when absent.
    - `error(code, message)` / `warn(code, message)`: report at this field (or at `path` /
      `source_path` when given).
    - `record(canonical_path, source_path)`: provenance for what the hook builds (absolute
      canonical pointers, e.g. f"{ctx.canonical_path}/0").
    """

    __slots__ = ("_run", "_scope", "canonical_path", "source_path")

    def __init__(
        self, run: Run, scope: Scope, source_path: str | None, canonical_path: str
    ) -> None:
        self._run = run
        self._scope = scope
        self.source_path = source_path
        self.canonical_path = canonical_path

    @property
    def root(self) -> Any:
        """The payload as the source sent it."""
        return self._run.root

    @property
    def item(self) -> Any:
        """The current scope: the item of the enclosing `each`, or the payload."""
        return self._scope.item

    def read(self, path: str) -> tuple[Any, str]:
        """The value at a source path (None when absent) and its absolute source pointer."""
        value, pointer = cached_source_path(path).locate(
            self._scope.item, self._scope.pointer, self._run.root
        )
        return (None if value is MISSING else value), pointer

    def error(
        self,
        code: ErrorCode | str,
        message: str,
        *,
        path: str | None = None,
        source_path: str | None = None,
    ) -> None:
        """Report an error: the event is rejected (validation still runs, to list everything)."""
        self._report(True, code, message, path, source_path)

    def warn(
        self,
        code: ErrorCode | str,
        message: str,
        *,
        path: str | None = None,
        source_path: str | None = None,
    ) -> None:
        """Report a warning: it is answered, and does not block the event."""
        self._report(False, code, message, path, source_path)

    def record(self, canonical_path: str, source_path: str) -> None:
        """Note that `canonical_path` was built from `source_path`."""
        self._run.provenance.record(canonical_path, source_path)

    def _report(
        self,
        as_error: bool,
        code: ErrorCode | str,
        message: str,
        path: str | None,
        source_path: str | None,
    ) -> None:
        self._run.report(
            as_error,
            ErrorCode(code),
            message,
            path if path is not None else self.canonical_path,
            source_path if source_path is not None else self.source_path,
        )


@dataclass(frozen=True, slots=True)
class BoundHook:
    """A hook function, with its name for messages."""

    name: str
    function: Hook

    def call(self, value: Any, scope: Scope, out: str, pointer: str | None, run: Run) -> Any:
        """The hook's value; a hook that raises is reported as this field's error."""
        context = HookContext(run, scope, pointer, out)
        try:
            return self.function(None if value is MISSING else value, context)
        except Exception as error:  # a hook bug is the field's error, not the event's crash
            where = f" on `{pointer}`" if pointer else ""
            run.report(
                True,
                ErrorCode.TRANSFORM_FAILED,
                f"hook `{self.name}` failed{where}: {type(error).__name__}: {str(error)[:200]}",
                out,
                pointer,
            )
            return MISSING


def load_hooks_module(reference: str, base_dir: Path | None) -> ModuleType:
    """The module a mapping file's `hooks:` names: a dotted module, or a `.py` file next to it.

    Raises `ValueError` with a message for the mapping's author.
    """
    if reference.endswith(".py"):
        return _module_from_file(reference, base_dir)
    try:
        return importlib.import_module(reference)
    except ImportError as error:
        raise ValueError(f"cannot import hooks module {reference!r}: {error}") from None
    except Exception as error:
        raise ValueError(
            f"importing hooks module {reference!r} failed: {type(error).__name__}: {error}"
        ) from None


def find_hook(module: ModuleType, name: str) -> BoundHook:
    """The public function `name` of the hooks module; `ValueError` when there is none."""
    function = None if name.startswith("_") else getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"no hook function `{name}` in {module.__name__}")
    return BoundHook(name=name, function=function)


def _module_from_file(reference: str, base_dir: Path | None) -> ModuleType:
    if base_dir is None:
        raise ValueError(
            f"hooks file {reference!r} can only be used by a mapping file on disk; "
            "name a module instead"
        )
    path = (base_dir / reference).resolve()
    if not path.is_file():
        raise ValueError(f"hooks file {path} does not exist")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f"_mapping_hooks_{path.stem}_{digest}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"hooks file {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ValueError(
            f"importing hooks file {path} failed: {type(error).__name__}: {error}"
        ) from None
    return module
