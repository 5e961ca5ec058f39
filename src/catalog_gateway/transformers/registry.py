"""Transformers by name: installed ones (entry points) and the operator's mapping files.

A package adds a transformer by declaring, in its `pyproject.toml`:

    [project.entry-points."catalog_gateway.transformers"]
    my-lob = "my_package.transformer:MyLobTransformer"

An operator adds one without code by putting a mapping file (`*.yaml`, named by its `name:`)
in the directory `CATALOG_GATEWAY_MAPPINGS_DIR`. Mapping files are read when the registry is
built (by `bootstrap`, at startup); a bad file or a name used twice is an error then. There is
no process-wide registry: whoever needs one is given it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from catalog_gateway.errors import ErrorCode, NotFoundError
from catalog_gateway.events.types import EventType
from catalog_gateway.transformers.base import Transformer
from catalog_gateway.transformers.mapping import MappingFileError, load_mapping

ENTRY_POINT_GROUP = "catalog_gateway.transformers"
MAPPING_FILE_PATTERN = "*.yaml"


@dataclass(frozen=True, slots=True)
class TransformerInfo:
    """A transformer as `transformers list` shows it."""

    name: str
    origin: str  # "entry point <module:factory>" or "file <path>"
    event_types: tuple[EventType, ...]
    description: str = ""
    problem: str | None = None  # why it cannot be loaded


class TransformerRegistry:
    """The transformers of one process: entry points (loaded when first asked for) and the
    mapping files of `mappings_dir` (loaded at once, to learn their names)."""

    def __init__(self, mappings_dir: Path | None = None) -> None:
        self._entry_points = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
        self._loaded: dict[str, Transformer] = {}
        self._files: dict[str, Path] = {}
        if mappings_dir is not None:
            self._load_mapping_files(mappings_dir)

    def origins(self) -> dict[str, str]:
        """Every transformer name → where it comes from."""
        origins = {name: _entry_point_origin(point) for name, point in self._entry_points.items()}
        origins.update({name: f"file {path}" for name, path in self._files.items()})
        return dict(sorted(origins.items()))

    def get(self, name: str) -> Transformer:
        """The transformer named `name` (made once); `NotFoundError` when there is none."""
        transformer = self._loaded.get(name)
        if transformer is not None:
            return transformer
        point = self._entry_points.get(name)
        if point is None:
            known = ", ".join(self.origins()) or "none"
            raise NotFoundError(
                f"no transformer {name!r} is installed; installed: {known}",
                code=ErrorCode.UNKNOWN_TRANSFORMER,
            )
        transformer = point.load()()
        if not isinstance(transformer, Transformer):
            raise TypeError(f"entry point {name!r} does not produce a Transformer")
        self._loaded[name] = transformer
        return transformer

    def describe(self) -> list[TransformerInfo]:
        """Every transformer with its origin and the event types it handles (loads them all;
        one that fails to load is listed with its problem)."""
        described = []
        for name, origin in self.origins().items():
            try:
                transformer = self.get(name)
            except Exception as error:  # a broken package must not hide the others
                problem = f"{type(error).__name__}: {error}"
                described.append(TransformerInfo(name, origin, (), problem=problem))
                continue
            description = getattr(transformer, "description", "") or ""
            described.append(
                TransformerInfo(name, origin, _event_types(transformer), description=description)
            )
        return described

    def _load_mapping_files(self, directory: Path) -> None:
        if not directory.is_dir():
            raise MappingFileError(str(directory), ["the mappings directory does not exist"])
        for path in sorted(directory.glob(MAPPING_FILE_PATTERN)):
            transformer = load_mapping(path)
            taken_by = (
                _entry_point_origin(self._entry_points[transformer.name])
                if transformer.name in self._entry_points
                else self._files.get(transformer.name)
            )
            if taken_by is not None:
                raise MappingFileError(
                    str(path),
                    [f"name: {transformer.name!r} is already the name of {taken_by}"],
                )
            self._files[transformer.name] = path
            self._loaded[transformer.name] = transformer


def _entry_point_origin(point: EntryPoint) -> str:
    return f"entry point {point.value}"


def _event_types(transformer: Transformer) -> tuple[EventType, ...]:
    """What a transformer declares it handles; one that does not say takes every type."""
    declared = getattr(transformer, "event_types", None)
    return tuple(declared) if declared is not None else tuple(EventType)
