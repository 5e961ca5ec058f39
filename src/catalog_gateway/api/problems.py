"""RFC 9457 problem details for every error that is not about one event."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog_gateway.api.request_ids import EVENT_PATHS
from catalog_gateway.api.request_observation import route_of
from catalog_gateway.errors import (
    CatalogGatewayError,
    ConflictError,
    DownstreamUnavailableError,
    ErrorCode,
    InvalidValueError,
    NotFoundError,
    NotOwnerError,
)
from catalog_gateway.pointers import pointer

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)


class Problem(BaseModel):
    """An error answer (RFC 9457), with our machine-readable `code`."""

    type: str = Field(default="about:blank", description="Always `about:blank`: see `code`.")
    title: str = Field(description="The HTTP status phrase.", examples=["Not Found"])
    status: int = Field(description="The HTTP status code.", examples=[404])
    detail: str = Field(description="What went wrong, for a person.")
    code: ErrorCode = Field(description="What went wrong, for a program.")
    errors: list[ProblemField] | None = Field(
        default=None, description="For a malformed body: each problem, with its JSON Pointer."
    )
    line: int | None = Field(
        default=None, description="For a body that is not JSON: the line of the problem (1-based)."
    )
    column: int | None = Field(
        default=None, description="For a body that is not JSON: its column (1-based, characters)."
    )
    offset: int | None = Field(
        default=None, description="For a body that is not JSON: its byte offset (0-based)."
    )


class ProblemField(BaseModel):
    """One problem of a malformed request body."""

    path: str = Field(description="JSON Pointer into the request body.", examples=["/event_id"])
    message: str


@dataclass(frozen=True, slots=True)
class TextLocation:
    """Where in a body's text a problem is."""

    line: int
    column: int
    offset: int


class ProblemError(Exception):
    """Raised by the HTTP layer to answer with a problem."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        detail: str,
        headers: dict[str, str] | None = None,
        errors: list[ProblemField] | None = None,
        location: TextLocation | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.errors = errors
        self.location = location


def problem_response(
    status: int,
    code: ErrorCode,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[ProblemField] | None = None,
    location: TextLocation | None = None,
) -> JSONResponse:
    """A `application/problem+json` answer."""
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        errors=errors,
        line=location.line if location else None,
        column=location.column if location else None,
        offset=location.offset if location else None,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem answers."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


_STATUS_BY_ERROR: list[tuple[type[CatalogGatewayError], int]] = [
    (NotFoundError, 404),
    (NotOwnerError, 403),
    (ConflictError, 409),
    (InvalidValueError, 400),
]

_CODE_BY_STATUS = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
}


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error answer a problem document, never an HTML page or a bare string."""

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, error: ProblemError) -> JSONResponse:
        return problem_response(
            error.status, error.code, error.detail, error.headers, error.errors, error.location
        )

    @app.exception_handler(DownstreamUnavailableError)
    async def _downstream(_request: Request, error: DownstreamUnavailableError) -> JSONResponse:
        return problem_response(
            503, error.code, error.message, headers={"Retry-After": str(error.retry_after)}
        )

    @app.exception_handler(CatalogGatewayError)
    async def _domain(_request: Request, error: CatalogGatewayError) -> JSONResponse:
        status = next((s for cls, s in _STATUS_BY_ERROR if isinstance(error, cls)), 422)
        return problem_response(status, error.code, error.message)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, error: SQLAlchemyError) -> JSONResponse:
        # Before an event ran (authenticating its key), or a read: nothing was changed.
        route = route_of(request.scope)
        logger.warning("the database failed: %s %s", request.method, route, exc_info=error)
        return database_unavailable(request.method, route)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = list(error.errors())
        if any(item.get("type") == "json_invalid" for item in details):
            return problem_response(
                400, ErrorCode.MALFORMED_JSON, "the request body is not valid JSON"
            )
        body_errors = [item for item in details if tuple(item.get("loc", ()))[:1] == ("body",)]
        if body_errors:
            problem = invalid_body([{**item, "loc": item["loc"][1:]} for item in body_errors])
            return problem_response(
                problem.status, problem.code, problem.detail, errors=problem.errors
            )
        return problem_response(400, ErrorCode.INVALID_REQUEST, _describe(details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODE_BY_STATUS.get(error.status_code, ErrorCode.INVALID_REQUEST)
        detail = (
            error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        )
        return problem_response(error.status_code, code, detail, dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _error: Exception) -> JSONResponse:
        return problem_response(
            500, ErrorCode.INTERNAL_ERROR, "the service failed unexpectedly; it has been logged"
        )


def database_unavailable(method: str, route: str) -> JSONResponse:
    """503 when the database failed outside an event's own handling (the events routes answer
    event by event): `catalog_write_failed` for a request that sends events (`route`: the
    route's template), else `catalog_unavailable`; `Retry-After: 1` either way."""
    if method == "POST" and route in EVENT_PATHS:
        code = ErrorCode.CATALOG_WRITE_FAILED
        detail = "the catalog database failed before the events ran; nothing was written, "
        detail += "send the same request again"
    else:
        code = ErrorCode.CATALOG_UNAVAILABLE
        detail = "the catalog database failed; nothing was changed, try again"
    return problem_response(503, code, detail, headers={"Retry-After": "1"})


def invalid_body(details: Sequence[Any]) -> ProblemError:
    """400 `invalid_envelope` for pydantic errors located in the request body."""
    return ProblemError(
        400,
        ErrorCode.INVALID_ENVELOPE,
        "the request body is not a valid envelope: " + _describe(details),
        errors=[ProblemField(path=pointer(item["loc"]), message=item["msg"]) for item in details],
    )


def _describe(details: Sequence[Any]) -> str:
    """`limit: Input should be less than or equal to 500; …`, readable by a person."""
    parts = []
    for item in details:
        where = ".".join(str(part) for part in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"
