"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from catalog_gateway.api.dependencies import get_database
from catalog_gateway.db.engine import Database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """A probe's answer."""

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"] | None = None


@router.get("/health", summary="Liveness: the process answers", response_model_exclude_none=True)
def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    summary="Readiness: the database answers",
    responses={503: {"model": Health, "description": "The database is unreachable."}},
)
def ready(database: Annotated[Database, Depends(get_database)], response: Response) -> Health:
    if database.is_reachable():
        return Health(status="ok", database="ok")
    response.status_code = 503
    return Health(status="unavailable", database="unreachable")
