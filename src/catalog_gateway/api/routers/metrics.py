"""`GET /metrics`: the Prometheus exposition; open, or for admins with `metrics_require_key`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool

from catalog_gateway.api.dependencies import (
    SettingsDependency,
    optional_principal,
    require_principal,
)
from catalog_gateway.api.problems import ProblemError, problem_responses
from catalog_gateway.api.request_observation import METRICS_PATH
from catalog_gateway.auth.principal import Principal
from catalog_gateway.errors import ErrorCode
from catalog_gateway.observability.metrics import render_metrics

router = APIRouter(tags=["health"])


@router.get(
    METRICS_PATH,
    summary="Metrics in the Prometheus text format (docs/operations.md lists them)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "The Prometheus text format."},
        **problem_responses(401, 403),
    },
)
async def metrics(
    settings: SettingsDependency,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Response:
    if settings.metrics_require_key:
        caller = await require_principal(principal)
        if not caller.is_admin:
            raise ProblemError(403, ErrorCode.FORBIDDEN, "the metrics are for admin keys only")
    # Reading every process's files (multiprocess mode) is blocking I/O.
    body, content_type = await run_in_threadpool(render_metrics)
    return Response(body, media_type=content_type)
