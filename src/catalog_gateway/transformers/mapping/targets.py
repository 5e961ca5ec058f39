"""The canonical payload's shape, read from its pydantic models, so that a mapping file's output
names are checked when it is loaded (a typo is a load error, not a rejected event)."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Target:
    """What the canonical payload holds under one name."""

    model: type[BaseModel] | None  # the object's model, when it is an object or a list of them
    is_list: bool
    required: bool

    @property
    def is_object(self) -> bool:
        """A single object (a nested mapping of output fields maps it)."""
        return self.model is not None and not self.is_list

    @property
    def is_object_list(self) -> bool:
        """A list of objects (`each` maps it)."""
        return self.model is not None and self.is_list


def targets_of(model: type[BaseModel]) -> dict[str, Target]:
    """Field name → what it holds, for one canonical model."""
    return {
        name: _target(info.annotation, info.is_required())
        for name, info in model.model_fields.items()
    }


def _target(annotation: Any, required: bool) -> Target:
    annotation = _unwrapped(annotation)
    is_list = get_origin(annotation) is list
    if is_list:
        annotation = _unwrapped(get_args(annotation)[0])
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return Target(model=annotation if is_model else None, is_list=is_list, required=required)


def _unwrapped(annotation: Any) -> Any:
    """`Annotated[X, …]` and `X | None` → X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
