"""The benchmarks' control endpoint: parse a JSON body and answer, nothing else.

It measures the HTTP stack's own ceiling on the machine, in the same run as the real endpoints
(`bench/`). Mounted only when `CATALOG_GATEWAY_BENCH_CONTROL=true`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter(prefix="/_bench", include_in_schema=False)


@router.post("/parse")
async def parse(body: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(body)}
