"""The reference ecommerce server as a real separate process, and a small HTTP client of it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from tests.factories import free_port

CLI = str(Path(sys.executable).parent / "catalog-gateway")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


@dataclass
class ServerProcess:
    """`catalog-gateway devserver ecommerce` running in its own process."""

    process: subprocess.Popen[bytes]
    url: str
    data_path: Path
    log_path: Path
    log: IO[bytes] = field(repr=False)

    def stop(self) -> None:
        """Terminate the process; kill it if it does not stop in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self.log.close()


def start_server(data_path: Path, log_path: Path) -> ServerProcess:
    """Start the reference server on a free loopback port and wait until it answers."""
    port = free_port()
    log = log_path.open("ab")
    process = subprocess.Popen(
        [CLI, "devserver", "ecommerce", "--port", str(port), "--data", str(data_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", data_path, log_path, log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(
                f"the ecommerce devserver exited with {process.returncode}: "
                f"{log_path.read_text(errors='replace')}"
            )
        try:
            if httpx.get(f"{server.url}/_products", params={"run": "x"}, timeout=1).is_success:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"the ecommerce devserver did not answer within {START_TIMEOUT} s: "
                f"{log_path.read_text(errors='replace')}"
            )
        time.sleep(0.1)


@dataclass
class Ecommerce:
    """What a tester does with the reference server: inject faults, read stored products."""

    url: str
    data_path: Path | None = None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", timeout=5, **kwargs)

    def fault(self, **spec: Any) -> None:
        """Inject faults into `POST /publication/` (DESIGN §5)."""
        response = self._request("POST", "/_faults", json=spec)
        assert response.status_code == 200, response.text

    def clear_faults(self) -> None:
        response = self._request("DELETE", "/_faults")
        assert response.status_code == 204, response.text

    def clear_products(self) -> None:
        response = self._request("DELETE", "/_products")
        assert response.status_code == 204, response.text

    def products(self, run_key: str) -> list[dict[str, Any]]:
        """The products the server stores for a run."""
        response = self._request("GET", "/_products", params={"run": run_key})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["run"] == run_key
        products: list[dict[str, Any]] = body["products"]
        return products

    def stored_run(self, run_key: str) -> dict[str, Any]:
        """The whole publication the server keeps for a run, as written in its `--data` file."""
        assert self.data_path is not None
        runs: dict[str, dict[str, Any]] = json.loads(self.data_path.read_text())
        assert run_key in runs, f"the server stored no publication of {run_key}"
        return runs[run_key]

    def publish(self, body: Any) -> httpx.Response:
        """Call the publication endpoint directly."""
        return self._request("POST", "/publication/", json=body)


def attribute(product: dict[str, Any], name: str) -> Any:
    """The value of one of a product's `attribute_values`."""
    values = [a["value"] for a in product.get("attribute_values", []) if a["name"] == name]
    assert len(values) == 1, f"{name} appears {len(values)} times in {product}"
    return values[0]


def by_class(products: list[dict[str, Any]], product_class: str) -> list[dict[str, Any]]:
    """The products of one class."""
    return [p for p in products if p["product_class"] == product_class]
