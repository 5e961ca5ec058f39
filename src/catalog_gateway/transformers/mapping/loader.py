"""Reading a mapping file: YAML → checked spec → compiled `MappingTransformer`."""

from __future__ import annotations

from collections.abc import Hashable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from catalog_gateway.transformers.mapping.compiler import Compiler, describe_validation_error
from catalog_gateway.transformers.mapping.errors import MappingFileError
from catalog_gateway.transformers.mapping.hooks import load_hooks_module
from catalog_gateway.transformers.mapping.spec import MappingFileSpec
from catalog_gateway.transformers.mapping.transformer import MappingTransformer


def load_mapping(file: Path | Traversable) -> MappingTransformer:
    """The transformer a mapping file describes; `MappingFileError` naming every problem."""
    label = str(file) if isinstance(file, Path) else file.name
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MappingFileError(label, [f"cannot read the file: {error}"]) from None
    return parse_mapping(text, file=label, base_dir=file.parent if isinstance(file, Path) else None)


def parse_mapping(
    text: str, *, file: str = "<mapping>", base_dir: Path | None = None
) -> MappingTransformer:
    """The transformer described by the YAML `text` (`file` names it in messages; a `hooks:`
    file is looked up in `base_dir`)."""
    document = _read_yaml(text, file)
    if not isinstance(document, dict):
        raise MappingFileError(file, ["a mapping file is a YAML mapping with `name` and `events`"])
    try:
        spec = MappingFileSpec.model_validate(document)
    except ValidationError as error:
        raise MappingFileError(
            file, describe_validation_error(error, "", MappingFileSpec)
        ) from None
    problems: list[str] = []
    hooks = None
    if spec.hooks is not None:
        try:
            hooks = load_hooks_module(spec.hooks, base_dir)
        except ValueError as error:
            problems.append(f"hooks: {error}")
    compiler = Compiler(hooks, hooks_broken=bool(problems))
    rules = compiler.events(spec.events)
    problems.extend(compiler.problems)
    if problems:
        raise MappingFileError(file, problems)
    return MappingTransformer(
        name=spec.name, description=spec.description, origin=file, rules=rules
    )


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice (a second rule would silently win)."""


def _unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _read_yaml(text: str, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise MappingFileError(file, [f"{where}{error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise MappingFileError(file, [f"not valid YAML: {error}"]) from None
