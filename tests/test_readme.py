"""The README's commands are a tested artefact: its walk-through block runs as written, in a
clean shell whose PATH has no `uv`, against a served instance; every command of its
Administration block exists.

The walk-through runs in a scratch directory that holds the clone's `.venv` and `examples`
(so the SQLite file `./catalog.db` it creates, like `make run`'s, is the scratch one).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from catalog_gateway.cli import app
from tests.factories import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"  # no ~/.local/bin, no .venv/bin: no `uv`
CLI = ".venv/bin/catalog-gateway"


def marked_block(marker: str) -> str:
    """The ```sh block right after the HTML comment that starts with `marker`."""
    match = re.search(
        rf"<!-- {re.escape(marker)}[^>]*-->\s*```sh\n(?P<body>.*?)```", README.read_text(), re.S
    )
    assert match is not None, f"README.md has no ```sh block marked <!-- {marker} -->"
    return match["body"]


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """A new user's shell: no CATALOG_GATEWAY_* settings, no virtualenv, no uv on PATH."""
    environment = {"PATH": CLEAN_PATH, "HOME": str(home), "LANG": "C.UTF-8", **extra}
    for name in ("SYSTEMROOT", "TMPDIR"):
        if name in os.environ:
            environment[name] = os.environ[name]
    return environment


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A directory that looks like the clone after `make run` bootstrapped it."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "home").mkdir()
    return tmp_path


@pytest.fixture
def served(scratch: Path) -> Iterator[int]:
    """`catalog-gateway serve` (what `make run` runs) on a free port, in the scratch directory."""
    port = free_port()
    log = scratch / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [CLI, "serve", "--port", str(port)],
            cwd=scratch,
            env=clean_environment(scratch / "home"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_no_uv_on_the_clean_path() -> None:
    """The walk-through below is only a proof if `uv` is really not reachable."""
    found = subprocess.run(
        ["bash", "-c", "command -v uv"], env={"PATH": CLEAN_PATH}, capture_output=True
    )
    assert found.returncode == 1, found.stdout


def test_the_walk_through_runs_as_written(scratch: Path, served: int) -> None:
    block = marked_block("walkthrough")

    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        cwd=scratch,
        env=clean_environment(scratch / "home", PORT=str(served)),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    # ingest's summary, then curl's page of courses: the example file's two products.
    assert "applied" in done.stdout
    page = done.stdout[done.stdout.rindex('{"results"') :]
    courses = httpx.Response(200, content=page.encode()).json()["results"]
    assert len(courses) == 2
    assert {course["source"] for course in courses} == {"exec-ed"}
    assert all(course["course_runs"] for course in courses)


def test_serve_says_where_to_go_next(scratch: Path, served: int) -> None:
    """Off a terminal, as one JSON log line (at a terminal, as a few lines for people)."""
    lines = [json.loads(line) for line in (scratch / "serve.log").read_text().splitlines()]
    [serving] = [line for line in lines if line["event"] == "serving"]

    assert serving["api_docs"] == f"http://127.0.0.1:{served}/docs"
    assert serving["console"] == f"http://127.0.0.1:{served}/console"
    assert serving["first_admin_key"] == ".venv/bin/catalog-gateway keys create --admin"


def test_every_administration_command_exists() -> None:
    """Each line names a real command (its `--help` works); placeholders are UPPER-CASE."""
    lines = [line for line in marked_block("commands").splitlines() if line.strip()]
    assert lines
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[0] == CLI, line
        command = [word for word in words[1:3] if not word.startswith("-")]
        shown = CliRunner().invoke(app, [*command, "--help"], prog_name="catalog-gateway")
        assert shown.exit_code == 0, (line, shown.output)
        assert shown.output.startswith(f"Usage: catalog-gateway {' '.join(command)} "), line
