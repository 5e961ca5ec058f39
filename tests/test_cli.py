"""The `catalog-gateway` command line (DESIGN §5), driven for real against a SQLite file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from sqlalchemy import select, text
from typer.main import get_command
from typer.testing import CliRunner

from catalog_gateway.auth.keys import authenticate, hash_key
from catalog_gateway.catalog.organizations import resolve_organization
from catalog_gateway.cli import app
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import is_up_to_date
from catalog_gateway.settings import get_settings
from catalog_gateway.sources.models import Source
from tests.factories import free_port

ENV_URL = "CATALOG_GATEWAY_DATABASE_URL"


class Cli:
    """Runs `catalog-gateway …` in-process against one database file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args))

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.ok(*args).stdout)
        return data

    def fails(self, *args: str) -> str:
        """Run a command that must fail cleanly with exit 1; its error message."""
        result = self(*args)
        assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
        # a clean exit, not a crash that happened to exit 1
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result.stderr

    def database(self) -> Database:
        return Database(self.url)


@pytest.fixture
def fresh_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI on a brand-new (not yet migrated) SQLite file, settings read afresh."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv(ENV_URL, url)
    get_settings.cache_clear()
    yield Cli(url)
    get_settings.cache_clear()


@pytest.fixture
def cli(fresh_cli: Cli) -> Cli:
    """The CLI on a migrated database."""
    fresh_cli.ok("db", "upgrade")
    return fresh_cli


@pytest.fixture
def exec_ed(cli: Cli) -> dict[str, Any]:
    """Organization MITx and source exec-ed, created through the CLI; the source's `--json`."""
    cli.ok("organizations", "create", "MITx", "--name", "Massachusetts Institute of Technology")
    return cli.json(
        "sources",
        "create",
        "exec-ed",
        "--transformer",
        "canonical",
        "--rate",
        "100/second",
        "--burst",
        "20",
        "--events",
        "product.upsert,course.upsert",
        "--json",
    )


def key_owner(cli: Cli, api_key: str) -> tuple[bool, str | None] | None:
    """(is_admin, source slug) of a live key, or None when it does not authenticate."""
    database = cli.database()
    try:
        with database.read() as session:
            stored = authenticate(session, api_key)
            if stored is None:
                return None
            return stored.is_admin, stored.source.slug if stored.source else None
    finally:
        database.dispose()


@dataclass(frozen=True)
class SourceRow:
    transformer: str
    rate: str
    burst: int
    allowed_event_types: list[str]


def source_row(cli: Cli, slug: str) -> SourceRow:
    """The stored settings of a source."""
    database = cli.database()
    try:
        with database.read() as session:
            source = session.scalar(select(Source).where(Source.slug == slug))
            assert source is not None
            return SourceRow(
                source.transformer, source.rate, source.burst, list(source.allowed_event_types)
            )
    finally:
        database.dispose()


# Migrations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["organizations", "create", "MITx", "--name", "MIT"],
        ["sources", "create", "exec-ed", "--transformer", "canonical"],
        ["sources", "update", "exec-ed", "--burst", "5"],
        ["sources", "map-org", "exec-ed", "MIT", "MITx"],
        ["keys", "create", "--admin"],
        ["keys", "revoke", "key_0123456789abcdef"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_commands_on_an_unmigrated_database_ask_for_db_upgrade(
    fresh_cli: Cli, command: list[str]
) -> None:
    message = fresh_cli.fails(*command)

    assert "catalog-gateway db upgrade" in message


def test_db_upgrade_migrates_and_is_idempotent(fresh_cli: Cli) -> None:
    first = fresh_cli.ok("db", "upgrade")
    second = fresh_cli.ok("db", "upgrade")

    assert "up to date" in first.stdout
    assert "up to date" in second.stdout
    database = fresh_cli.database()
    try:
        assert is_up_to_date(database)
        with database.read() as session:
            assert session.scalar(text("SELECT count(*) FROM seat_types")) == 6
    finally:
        database.dispose()


def test_commands_work_once_the_database_is_upgraded(fresh_cli: Cli) -> None:
    fresh_cli.fails("organizations", "create", "MITx", "--name", "MIT")
    fresh_cli.ok("db", "upgrade")

    assert "created" in fresh_cli.ok("organizations", "create", "MITx", "--name", "MIT").stdout


# Organizations -----------------------------------------------------------------------------


def test_organizations_create_is_idempotent(cli: Cli) -> None:
    name = "Massachusetts Institute of Technology"
    first = cli.ok("organizations", "create", "MITx", "--name", name)
    again = cli.ok("organizations", "create", "MITx", "--name", name)
    renamed = cli.ok("organizations", "create", "MITx", "--name", "MIT")

    assert first.stdout.strip() == "organization MITx created"
    assert again.stdout.strip() == "organization MITx unchanged"
    assert renamed.stdout.strip() == "organization MITx updated"


@pytest.mark.parametrize("key", ["MIT x", "MIT/x", "MITx+"])
def test_organizations_create_refuses_an_invalid_key(cli: Cli, key: str) -> None:
    message = cli.fails("organizations", "create", key, "--name", "MIT")

    assert "organization key" in message


def test_organizations_create_refuses_a_blank_name(cli: Cli) -> None:
    assert "name" in cli.fails("organizations", "create", "MITx", "--name", "  ")


# Sources -----------------------------------------------------------------------------------


def test_sources_create_prints_slug_and_a_working_key(cli: Cli, exec_ed: dict[str, Any]) -> None:
    assert set(exec_ed) == {"slug", "api_key"}
    assert exec_ed["slug"] == "exec-ed"
    assert key_owner(cli, exec_ed["api_key"]) == (False, "exec-ed")
    source = source_row(cli, "exec-ed")
    assert source.transformer == "canonical"
    assert source.rate == "100/second"
    assert source.burst == 20
    assert set(source.allowed_event_types) == {"product.upsert", "course.upsert"}


def test_sources_create_stores_the_key_only_hashed(cli: Cli, exec_ed: dict[str, Any]) -> None:
    api_key = exec_ed["api_key"]
    database = cli.database()
    try:
        with database.read() as session:
            rows = [dict(row._mapping) for row in session.execute(text("SELECT * FROM api_keys"))]
    finally:
        database.dispose()

    assert len(rows) == 1
    assert all(api_key not in str(value) for value in rows[0].values())
    assert rows[0]["key_hash"] == hash_key(api_key)


def test_sources_create_without_json_prints_the_key_once_with_its_id(cli: Cli) -> None:
    output = cli.ok("sources", "create", "bootcamps", "--transformer", "canonical").stdout

    [key_line] = [line for line in output.splitlines() if line.startswith("API key")]
    api_key = key_line.rsplit(" ", 1)[-1]
    assert key_owner(cli, api_key) == (False, "bootcamps")
    assert "key id" in output
    assert output.count(api_key) == 1


def test_sources_create_uses_the_default_limits_and_all_event_types(cli: Cli) -> None:
    cli.ok("sources", "create", "bootcamps", "--transformer", "canonical")

    source = source_row(cli, "bootcamps")
    assert source.rate == "50/second"
    assert source.burst == 100
    assert set(source.allowed_event_types) == {
        "instructor.upsert",
        "course.upsert",
        "course_run.upsert",
        "degree.upsert",
        "product.upsert",
        "product.retire",
    }


def test_sources_create_refuses_a_duplicate_slug(cli: Cli, exec_ed: dict[str, Any]) -> None:
    message = cli.fails("sources", "create", "exec-ed", "--transformer", "canonical")

    assert "already exists" in message
    assert key_owner(cli, exec_ed["api_key"]) == (False, "exec-ed")


@pytest.mark.parametrize("slug", ["Exec_Ed", "x", "exec ed"])
def test_sources_create_refuses_a_bad_slug(cli: Cli, slug: str) -> None:
    message = cli.fails("sources", "create", slug, "--transformer", "canonical")

    assert "slug" in message
    assert "a-z" in message


@pytest.mark.parametrize("rate", ["fast", "100/fortnight", "many per second"])
def test_sources_create_refuses_a_bad_rate(cli: Cli, rate: str) -> None:
    message = cli.fails(
        "sources", "create", "exec-ed", "--transformer", "canonical", "--rate", rate
    )

    assert "rate" in message
    assert "50/second" in message  # says how to write it


@pytest.mark.parametrize("burst", ["0", "-5"])
def test_sources_create_refuses_a_burst_below_one(cli: Cli, burst: str) -> None:
    message = cli.fails(
        "sources", "create", "exec-ed", "--transformer", "canonical", "--burst", burst
    )

    assert "burst must be at least 1" in message


def test_sources_create_refuses_an_unknown_event_type(cli: Cli) -> None:
    message = cli.fails(
        "sources",
        "create",
        "exec-ed",
        "--transformer",
        "canonical",
        "--events",
        "product.upsert,product.delete",
    )

    assert "unknown event types: product.delete" in message
    assert "product.upsert" in message  # lists the known ones


def test_a_refused_source_is_not_created(cli: Cli) -> None:
    cli.fails("sources", "create", "exec-ed", "--transformer", "canonical", "--rate", "fast")

    assert cli("sources", "create", "exec-ed", "--transformer", "canonical").exit_code == 0


def test_sources_update_changes_rate_burst_and_events(cli: Cli, exec_ed: dict[str, Any]) -> None:
    update = [
        "sources",
        "update",
        "exec-ed",
        "--rate",
        "3000/minute",
        "--burst",
        "200",
        "--events",
        "instructor.upsert,product.retire",
        "--json",
    ]
    changed = cli.json(*update)
    again = cli.json(*update)

    assert changed["action"] == "updated"
    assert again["action"] == "unchanged"
    source = source_row(cli, "exec-ed")
    assert source.rate == "3000/minute"
    assert source.burst == 200
    assert set(source.allowed_event_types) == {"instructor.upsert", "product.retire"}
    assert key_owner(cli, exec_ed["api_key"]) == (False, "exec-ed")


def test_sources_update_keeps_what_is_not_given(cli: Cli, exec_ed: dict[str, Any]) -> None:
    cli.ok("sources", "update", "exec-ed", "--burst", "5")

    source = source_row(cli, "exec-ed")
    assert source.burst == 5
    assert source.rate == "100/second"
    assert set(source.allowed_event_types) == {"product.upsert", "course.upsert"}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--rate", "soon", "rate"),
        ("--burst", "0", "burst must be at least 1"),
        ("--events", "course.delete", "unknown event types"),
    ],
)
def test_sources_update_refuses_bad_values(
    cli: Cli, exec_ed: dict[str, Any], option: str, value: str, message: str
) -> None:
    assert message in cli.fails("sources", "update", "exec-ed", option, value)

    source = source_row(cli, "exec-ed")
    assert (source.rate, source.burst) == ("100/second", 20)


def test_sources_update_of_an_unknown_source_fails(cli: Cli) -> None:
    assert "no source 'nobody'" in cli.fails("sources", "update", "nobody", "--burst", "5")


def test_sources_map_org_lets_the_source_use_its_own_code(
    cli: Cli, exec_ed: dict[str, Any]
) -> None:
    result = cli.ok("sources", "map-org", "exec-ed", "MIT", "MITx")

    assert "created" in result.stdout
    database = cli.database()
    try:
        with database.read() as session:
            source = session.scalar(select(Source).where(Source.slug == "exec-ed"))
            assert source is not None
            assert resolve_organization(session, source.id, "MIT").key == "MITx"
    finally:
        database.dispose()
    assert "unchanged" in cli.ok("sources", "map-org", "exec-ed", "MIT", "MITx").stdout


def test_sources_map_org_to_an_unknown_organization_fails(
    cli: Cli, exec_ed: dict[str, Any]
) -> None:
    message = cli.fails("sources", "map-org", "exec-ed", "HARV", "HarvardX")

    assert "HarvardX" in message
    assert "create it first" in message


def test_sources_map_org_for_an_unknown_source_fails(cli: Cli, exec_ed: dict[str, Any]) -> None:
    assert "no source" in cli.fails("sources", "map-org", "nobody", "MIT", "MITx")


# Keys --------------------------------------------------------------------------------------


def test_keys_create_admin_prints_id_and_a_working_admin_key(cli: Cli) -> None:
    created = cli.json("keys", "create", "--admin", "--json")

    assert set(created) == {"id", "api_key"}
    assert created["id"] != created["api_key"]
    assert key_owner(cli, created["api_key"]) == (True, None)


@pytest.mark.parametrize(
    "options", [[], ["--admin", "--source", "exec-ed"]], ids=["neither", "both"]
)
def test_keys_create_needs_exactly_one_of_admin_or_source(
    cli: Cli, exec_ed: dict[str, Any], options: list[str]
) -> None:
    message = cli.fails("keys", "create", *options)

    assert "--admin" in message
    assert "--source" in message


def test_keys_create_for_a_source_adds_a_key_beside_the_first(
    cli: Cli, exec_ed: dict[str, Any]
) -> None:
    second = cli.json("keys", "create", "--source", "exec-ed", "--json")

    assert key_owner(cli, second["api_key"]) == (False, "exec-ed")
    assert key_owner(cli, exec_ed["api_key"]) == (False, "exec-ed")
    assert second["api_key"] != exec_ed["api_key"]


def test_keys_create_for_an_unknown_source_fails(cli: Cli) -> None:
    assert "no source 'nobody'" in cli.fails("keys", "create", "--source", "nobody")


def test_keys_revoke_by_id(cli: Cli) -> None:
    created = cli.json("keys", "create", "--admin", "--json")

    result = cli.ok("keys", "revoke", created["id"])

    assert created["id"] in result.stdout
    assert "revoked" in result.stdout
    assert key_owner(cli, created["api_key"]) is None


def test_keys_revoke_by_the_key_itself(cli: Cli, exec_ed: dict[str, Any]) -> None:
    spare = cli.json("keys", "create", "--source", "exec-ed", "--json")

    cli.ok("keys", "revoke", exec_ed["api_key"])

    assert key_owner(cli, exec_ed["api_key"]) is None
    assert key_owner(cli, spare["api_key"]) == (False, "exec-ed")


def test_keys_revoke_twice_is_harmless(cli: Cli) -> None:
    created = cli.json("keys", "create", "--admin", "--json")

    cli.ok("keys", "revoke", created["id"])
    cli.ok("keys", "revoke", created["api_key"])

    assert key_owner(cli, created["api_key"]) is None


@pytest.mark.parametrize("key", ["key_0123456789abcdef", "cgw_not-a-key"])
def test_keys_revoke_of_an_unknown_key_fails(cli: Cli, key: str) -> None:
    assert "no such API key" in cli.fails("keys", "revoke", key)


# serve -------------------------------------------------------------------------------------


def test_serve_migrates_then_answers_health_and_catalog_reads(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "catalog-gateway"
    assert script.exists(), f"console script not installed at {script}"
    port = free_port()
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("CATALOG_GATEWAY_")
    }
    env[ENV_URL] = f"sqlite:///{tmp_path / 'served.db'}"
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            health: httpx.Response | None = None
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    pytest.fail(f"serve exited with {process.returncode}:\n{log_path.read_text()}")
                try:
                    health = httpx.get(base + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            if health is None:
                pytest.fail(f"serve did not answer within 20 s:\n{log_path.read_text()}")

            courses = httpx.get(base + "/api/v1/courses", timeout=5)
            ready = httpx.get(base + "/ready", timeout=5)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert courses.status_code == 200
    assert courses.json() == {"results": [], "next": None}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


def test_sources_list_shows_each_source_as_a_table_and_as_json(
    cli: Cli, exec_ed: dict[str, Any]
) -> None:
    cli.ok(
        "sources", "create", "bootcamps", "--transformer", "canonical", "--events", "course.upsert"
    )

    listed = cli.json("sources", "list", "--json")
    table = cli.ok("sources", "list").stdout.splitlines()

    assert listed == {
        "sources": [
            {
                "slug": "bootcamps",
                "name": "bootcamps",
                "transformer": "canonical",
                "rate": "50/second",
                "burst": 100,
                "events": ["course.upsert"],
            },
            {
                "slug": "exec-ed",
                "name": "exec-ed",
                "transformer": "canonical",
                "rate": "100/second",
                "burst": 20,
                "events": ["course.upsert", "product.upsert"],
            },
        ]
    }
    assert table[0].split() == ["slug", "transformer", "rate", "burst", "events"]
    assert table[1].split() == ["bootcamps", "canonical", "50/second", "100", "course.upsert"]
    assert table[2].split() == [
        "exec-ed",
        "canonical",
        "100/second",
        "20",
        "course.upsert,product.upsert",
    ]


def test_keys_list_shows_ids_owners_and_revocations_but_never_a_key(
    cli: Cli, exec_ed: dict[str, Any]
) -> None:
    admin = cli.json("keys", "create", "--admin", "--json")
    cli.ok("keys", "revoke", admin["id"])

    listed = cli.json("keys", "list", "--json")["keys"]
    table = cli.ok("keys", "list").stdout

    assert [(k["source"], k["admin"], k["revoked"] is not None) for k in listed] == [
        ("exec-ed", False, False),
        (None, True, True),
    ]
    assert listed[1]["id"] == admin["id"]
    assert exec_ed["api_key"] not in table
    assert admin["api_key"] not in table
    assert admin["id"] in table


def test_organizations_list_shows_keys_and_names(cli: Cli) -> None:
    assert cli.ok("organizations", "list").stdout == "no organizations\n"
    cli.ok("organizations", "create", "MITx", "--name", "Massachusetts Institute of Technology")
    cli.ok("organizations", "create", "HarvardX", "--name", "Harvard")

    assert cli.json("organizations", "list", "--json") == {
        "organizations": [
            {"key": "HarvardX", "name": "Harvard"},
            {"key": "MITx", "name": "Massachusetts Institute of Technology"},
        ]
    }
    assert cli.ok("organizations", "list").stdout.splitlines() == [
        "key       name",
        "HarvardX  Harvard",
        "MITx      Massachusetts Institute of Technology",
    ]


def test_serve_on_a_busy_port_says_how_to_choose_another(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        message = cli.fails("serve", "--port", str(port))

    assert message == (
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use): serve on another "
        f"port with `make run PORT={port + 1}` or `catalog-gateway serve --port {port + 1}` "
        "(or set CATALOG_GATEWAY_PORT)\n"
    )


def every_command() -> list[list[str]]:
    """The path of every command and group of the CLI, e.g. ["sources", "create"]."""
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        for name, child in getattr(command, "commands", {}).items():
            walk(child, [*path, name])

    walk(get_command(app), [])
    return paths


@pytest.mark.parametrize("path", every_command(), ids=lambda path: " ".join(path) or "root")
def test_help_shows_no_type_placeholders_for_flags(path: list[str]) -> None:
    shown = CliRunner().invoke(app, [*path, "--help"], prog_name="catalog-gateway")

    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
    assert shown.output.startswith(f"Usage: catalog-gateway {' '.join(path)}".rstrip())


def test_serve_help_names_the_setting_behind_each_default() -> None:
    shown = CliRunner().invoke(app, ["serve", "--help"], prog_name="catalog-gateway")

    for setting in ("CATALOG_GATEWAY_HOST", "CATALOG_GATEWAY_PORT", "CATALOG_GATEWAY_WORKERS"):
        assert setting in " ".join(shown.output.split()), setting
