"""The registry: installed transformers, the built-in mapping files, and operators' files."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from catalog_gateway.bootstrap import bootstrap
from catalog_gateway.errors import ErrorCode, NotFoundError
from catalog_gateway.events.types import EventType
from catalog_gateway.settings import get_settings
from catalog_gateway.transformers import registry
from catalog_gateway.transformers.mapping import MappingFileError, MappingTransformer
from catalog_gateway.transformers.registry import TransformerRegistry
from tests.transformers.conftest import BOOTCAMPS_MAPPING

BUILT_IN = ("canonical", "degree-csv", "discovery-csv", "exec-ed-product-api")


def test_the_built_in_transformers_are_installed_through_entry_points() -> None:
    origins = TransformerRegistry().origins()
    assert set(BUILT_IN) <= set(origins)
    assert origins["degree-csv"] == "entry point catalog_gateway.transformers.builtin:degree_csv"


@pytest.mark.parametrize("name", ["degree-csv", "discovery-csv", "exec-ed-product-api"])
def test_each_built_in_mapping_file_loads(name: str) -> None:
    transformer = TransformerRegistry().get(name)
    assert isinstance(transformer, MappingTransformer)
    assert transformer.name == name
    assert EventType.PRODUCT_RETIRE in transformer.event_types


def test_a_mapping_file_in_the_mappings_dir_is_a_transformer(tmp_path: Path) -> None:
    (tmp_path / "bootcamps.yaml").write_text(BOOTCAMPS_MAPPING)
    (tmp_path / "notes.txt").write_text("not a mapping")
    transformers = TransformerRegistry(tmp_path)
    bootcamps = transformers.get("bootcamps")
    assert isinstance(bootcamps, MappingTransformer)
    assert transformers.get("bootcamps") is bootcamps
    assert transformers.origins()["bootcamps"] == f"file {tmp_path / 'bootcamps.yaml'}"
    [info] = [info for info in transformers.describe() if info.name == "bootcamps"]
    assert info.event_types == (EventType.PRODUCT_UPSERT, EventType.PRODUCT_RETIRE)
    assert info.problem is None


def test_a_mapping_file_may_not_take_an_installed_transformer_s_name(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(BOOTCAMPS_MAPPING.replace("bootcamps", "degree-csv"))
    with pytest.raises(MappingFileError) as raised:
        TransformerRegistry(tmp_path)
    assert raised.value.problems == [
        f"{tmp_path / 'mine.yaml'}: name: 'degree-csv' is already the name of entry point "
        "catalog_gateway.transformers.builtin:degree_csv"
    ]


def test_two_mapping_files_may_not_share_a_name(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BOOTCAMPS_MAPPING)
    (tmp_path / "b.yaml").write_text(BOOTCAMPS_MAPPING)
    with pytest.raises(MappingFileError, match=r"b\.yaml: name: 'bootcamps' is already the name"):
        TransformerRegistry(tmp_path)


def test_a_bad_mapping_file_stops_the_registry_with_its_problems(tmp_path: Path) -> None:
    (tmp_path / "bootcamps.yaml").write_text(BOOTCAMPS_MAPPING.replace("title:", "titel:"))
    with pytest.raises(MappingFileError, match=r"bootcamps\.yaml: events\.product\.upsert"):
        TransformerRegistry(tmp_path)


def test_a_missing_mappings_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match="the mappings directory does not exist"):
        TransformerRegistry(tmp_path / "nowhere")


def test_an_unknown_name_lists_what_is_installed(tmp_path: Path) -> None:
    (tmp_path / "bootcamps.yaml").write_text(BOOTCAMPS_MAPPING)
    with pytest.raises(NotFoundError) as raised:
        TransformerRegistry(tmp_path).get("nope")
    assert raised.value.code is ErrorCode.UNKNOWN_TRANSFORMER
    assert "bootcamps" in raised.value.message
    assert "degree-csv" in raised.value.message


def test_a_transformer_that_cannot_be_loaded_is_listed_with_its_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = EntryPoint(name="broken", value="nowhere.at_all:factory", group="x")
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken])
    [info] = TransformerRegistry().describe()
    assert (info.name, info.event_types) == ("broken", ())
    assert info.problem == "ModuleNotFoundError: No module named 'nowhere'"


def test_bootstrap_builds_the_registry_from_the_mappings_dir_setting(mappings_dir: Path) -> None:
    (mappings_dir / "bootcamps.yaml").write_text(BOOTCAMPS_MAPPING)
    services = bootstrap(get_settings())
    try:
        transformers = services.transformers
        assert transformers.origins()["bootcamps"].startswith("file ")
        assert transformers.get("bootcamps").name == "bootcamps"
        assert {info.name for info in transformers.describe()} >= {"bootcamps", *BUILT_IN}
        assert services.gateway.transformers is transformers
    finally:
        services.close()
