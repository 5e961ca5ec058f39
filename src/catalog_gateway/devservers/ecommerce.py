"""The reference ecommerce server: a real HTTP peer implementing the publication API.

    POST   /publication/        publish a course run's products; answers them with stable SKUs
    GET    /_products?run=KEY   what is stored for a run
    DELETE /_products           forget everything (tests)
    POST   /_faults             inject faults: {"status", "count", "retry_after", "latency_ms",
                                "hang", "run_keys"} (each optional)
    DELETE /_faults             clear them

It validates bodies as the real API does (400 with a message naming the field), keeps its store
in a JSON file, and gives each seat (run, certificate type) and each course entitlement
(course, certificate type) one SKU forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

RUN_KEY_PATTERN = re.compile(r"^course-v1:[A-Za-z0-9._-]+\+[A-Za-z0-9._-]+\+[A-Za-z0-9]+$")
PRODUCT_CLASSES = ("Seat", "Course Entitlement")
HANG_SECONDS = 3600.0


class FaultSpec(BaseModel):
    """Faults to inject into `POST /publication/`."""

    status: int | None = Field(default=None, ge=400, le=599, description="Answer this status.")
    count: int | None = Field(
        default=None, ge=1, description="How many calls; absent = until cleared."
    )
    retry_after: int | None = Field(default=None, ge=0, description="Retry-After header value.")
    latency_ms: int = Field(default=0, ge=0, description="Delay before answering.")
    hang: bool = Field(default=False, description="Never answer (until the client gives up).")
    run_keys: list[str] = Field(default_factory=list, description="Only these runs; empty = all.")


@dataclass
class _Faults:
    spec: FaultSpec | None = None
    remaining: int | None = None

    def take(self, run_key: str) -> FaultSpec | None:
        spec = self.spec
        if spec is None or (spec.run_keys and run_key not in spec.run_keys):
            return None
        if self.remaining is not None:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
        return spec


@dataclass
class _Store:
    path: Path
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> _Store:
        runs = json.loads(path.read_text()) if path.exists() and path.stat().st_size else {}
        return cls(path, runs)

    def save(self) -> None:
        """Write atomically: a crash never leaves half a file."""
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".ecommerce-")
        with os.fdopen(handle, "w") as out:
            json.dump(self.runs, out, indent=1, sort_keys=True)
        os.replace(temporary, self.path)


class _InvalidBodyError(Exception):
    pass


def create_app(data_path: Path | None = None, token: str | None = None) -> FastAPI:
    """The reference server, storing in `data_path` (default: a new temporary file)."""
    if data_path is None:
        handle, name = tempfile.mkstemp(prefix="ecommerce-", suffix=".json")
        os.close(handle)
        data_path = Path(name)
    store = _Store.open(data_path)
    faults = _Faults()
    lock = asyncio.Lock()
    app = FastAPI(title="Reference ecommerce server", docs_url=None, redoc_url=None)

    @app.post("/publication/")
    async def publish(request: Request) -> JSONResponse:
        if token is not None and request.headers.get("Authorization") != f"Bearer {token}":
            return JSONResponse({"detail": "Authentication credentials were not provided."}, 401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"detail": "JSON parse error"}, 400)
        run_key = body.get("id") if isinstance(body, dict) else None
        fault = faults.take(str(run_key))
        if fault is not None:
            answer = await _inject(fault)
            if answer is not None:
                return answer
        try:
            products = _validate(body)
        except _InvalidBodyError as error:
            return JSONResponse({"detail": str(error)}, 400)
        async with lock:
            stored = [_with_sku(body["id"], body["uuid"], product) for product in products]
            created = body["id"] not in store.runs
            store.runs[body["id"]] = {
                "id": body["id"],
                "uuid": body["uuid"],
                "name": body["name"],
                "verification_deadline": body.get("verification_deadline"),
                "products": stored,
            }
            store.save()
        return JSONResponse(store.runs[body["id"]], 201 if created else 200)

    @app.get("/_products")
    async def products(run: str = Query(description="A course run key.")) -> dict[str, Any]:
        stored = store.runs.get(run)
        return {"run": run, "products": stored["products"] if stored else []}

    @app.delete("/_products", status_code=204)
    async def forget_products() -> None:
        async with lock:
            store.runs.clear()
            store.save()

    @app.post("/_faults")
    async def set_faults(spec: FaultSpec) -> dict[str, Any]:
        faults.spec, faults.remaining = spec, spec.count
        return {"faults": spec.model_dump()}

    @app.delete("/_faults", status_code=204)
    async def clear_faults() -> None:
        faults.spec, faults.remaining = None, None

    return app


async def _inject(fault: FaultSpec) -> JSONResponse | None:
    if fault.hang:
        await asyncio.sleep(HANG_SECONDS)
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.status is None:
        return None
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    return JSONResponse(
        {"detail": f"injected fault: HTTP {fault.status}"}, fault.status, headers=headers
    )


def _validate(body: Any) -> list[dict[str, Any]]:
    """The checks the real publication API makes, with its kind of messages."""
    if not isinstance(body, dict):
        raise _InvalidBodyError("The body must be a JSON object.")
    if not isinstance(body.get("id"), str) or not RUN_KEY_PATTERN.match(body["id"]):
        raise _InvalidBodyError(
            "id: a course run key such as course-v1:ORG+NUMBER+TERM is required."
        )
    try:
        uuid.UUID(str(body.get("uuid")))
    except ValueError:
        raise _InvalidBodyError("uuid: a valid course UUID is required.") from None
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise _InvalidBodyError("name: this field may not be blank.")
    deadline = body.get("verification_deadline")
    if deadline is not None:
        try:
            datetime.fromisoformat(str(deadline))
        except ValueError:
            raise _InvalidBodyError("verification_deadline: not an ISO 8601 date-time.") from None
    products = body.get("products")
    if not isinstance(products, list):
        raise _InvalidBodyError("products: a list is required.")
    seen: set[tuple[str, str]] = set()
    for index, product in enumerate(products):
        identity = _validate_product(index, product)
        if identity in seen:
            raise _InvalidBodyError(
                f"products[{index}]: duplicate {identity[0]} of type {identity[1]}."
            )
        seen.add(identity)
    return products


def _validate_product(index: int, product: Any) -> tuple[str, str]:
    where = f"products[{index}]"
    if not isinstance(product, dict) or product.get("product_class") not in PRODUCT_CLASSES:
        raise _InvalidBodyError(
            f"{where}.product_class: must be one of {', '.join(PRODUCT_CLASSES)}."
        )
    try:
        price = Decimal(str(product.get("price")))
    except InvalidOperation:
        raise _InvalidBodyError(f"{where}.price: a decimal price is required.") from None
    if not price.is_finite() or price < 0:
        raise _InvalidBodyError(f"{where}.price: must be zero or more.")
    certificate_type = _attribute(product, "certificate_type")
    if not certificate_type:
        raise _InvalidBodyError(f"{where}.attribute_values: certificate_type is required.")
    if product["product_class"] == "Seat" and not isinstance(product.get("stockrecords"), list):
        raise _InvalidBodyError(f"{where}.stockrecords: a list is required for seats.")
    return product["product_class"], certificate_type


def _attribute(product: dict[str, Any], name: str) -> str | None:
    for attribute in product.get("attribute_values") or []:
        if isinstance(attribute, dict) and attribute.get("name") == name:
            return str(attribute.get("value"))
    return None


def _with_sku(run_key: str, course_uuid: str, product: dict[str, Any]) -> dict[str, Any]:
    """The product as stored, with a stable SKU: per (run, certificate type) for a seat, per
    (course, certificate type) for the course entitlement (one product for all its runs)."""
    certificate_type = _attribute(product, "certificate_type")
    owner = course_uuid if product["product_class"] == "Course Entitlement" else run_key
    digest = hashlib.sha256(f"{owner}|{product['product_class']}|{certificate_type}".encode())
    sku = digest.hexdigest()[:7].upper()
    return {
        "product_class": product["product_class"],
        "certificate_type": certificate_type,
        "price": str(Decimal(str(product["price"])).quantize(Decimal("0.01"))),
        "expires": product.get("expires"),
        "attribute_values": product.get("attribute_values", []),
        "partner_sku": sku,
    }
