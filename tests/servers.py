"""Real `catalog-gateway serve` processes, and the test Redis, for the tests that run several
server processes (shared rate limits, scale-out)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import IN_CI
from tests.factories import free_port

CLI = str(Path(sys.executable).with_name("catalog-gateway"))
REDIS_URL = os.environ.get("CATALOG_GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_client() -> redis.Redis:
    """A client of the test Redis."""
    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def require_redis() -> str:
    """The test Redis's URL; the test is skipped when it is unreachable, except in CI."""
    client = redis_client()
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis is not reachable at {REDIS_URL} ({error})"
        if IN_CI:
            pytest.fail(message + " (required when CI=true)")
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


def start_gateway(
    workdir: Path, name: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """`catalog-gateway serve` in a process of its own, logging to `workdir/name.log`."""
    port = free_port()
    with (workdir / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,  # no stray .env file is read
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], log: Path, path: str, seconds: float
) -> None:
    """Wait until `url + path` answers 200; fail with the server's log if it exits or never
    does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}{path}", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server at {url} did not start in {seconds} s:\n{log.read_text()}")


def stop_gateway(process: subprocess.Popen[bytes]) -> None:
    """Stop a server (SIGTERM, then SIGKILL after 15 s)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
