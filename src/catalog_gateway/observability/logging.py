"""Structured logs (structlog): one line per request and one per event answer.

Lines go to standard error: JSON objects, one a line, when it is not a terminal (servers,
containers, log shippers), and a readable console format on a terminal (development); the
`log_format` setting forces either. Other libraries' logs (uvicorn's among them) go through the
same renderer, so a server's output is all JSON lines. The request id is bound to the request's
context (structlog contextvars), so every line logged while answering it carries it.

What is never logged: payloads, API keys and tokens, `Authorization` and `Cookie` headers.
The lines are built from chosen fields only, and fields named like a secret are redacted on
the way out in case some code ever passes one.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from catalog_gateway.events.results import EventAnswer

REDACTED = "[redacted]"
# Client-controlled strings (an invalid envelope's event id) are cut to this length.
MAX_FIELD_LENGTH = 200
_SECRET_FIELDS = frozenset(
    {
        "api_key",
        "authorization",
        "canonical_payload",
        "cookie",
        "credential",
        "password",
        "payload",
        "raw_payload",
        "secret",
        "set-cookie",
        "token",
    }
)

_logger = structlog.get_logger("catalog_gateway")
_handler: logging.Handler | None = None


def configure_logging(level: str = "INFO", log_format: str = "auto") -> None:
    """Route structlog and the standard library's logging to standard error, rendered as
    JSON lines (`json`), for people (`console`), or by whether it is a terminal (`auto`).
    Calling it again replaces the previous configuration."""
    global _handler
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    exceptions: list[Processor] = [structlog.processors.format_exc_info] if as_json else []
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    threshold = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, _redact_secrets, *exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_standard_error_logger,
        # Not cached: a reconfiguration (tests, `serve` then the app) applies to every logger.
        cache_logger_on_first_use=False,
    )
    handler = _StandardErrorHandler()
    handler.setLevel(threshold)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _redact_secrets,
                *exceptions,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler


def log_request(
    *,
    method: str,
    route: str,
    status: int,
    duration_ms: float,
    source: str | None,
    client: str | None,
) -> None:
    """The line of one HTTP request (its request id comes from the context)."""
    log = _logger.error if status >= 500 else _logger.info
    log(
        "request",
        method=method,
        route=route,
        status=status,
        duration_ms=round(duration_ms, 2),
        source=source,
        client=client,
    )


def log_throttled(source: str, not_logged: int) -> None:
    """How many requests of `source` were refused 429 before routing, since the last one that
    was logged, without a line of their own (under a flood, one refusal a second is logged)."""
    _logger.info("throttled", source=source, not_logged=not_logged)


def log_serving(base_url: str) -> None:
    """Where a starting server can be reached, and what to do first (the console needs an
    admin key)."""
    _logger.info(
        "serving",
        api_docs=f"{base_url}/docs",
        console=f"{base_url}/console",
        first_admin_key=".venv/bin/catalog-gateway keys create --admin",
        next="the README's walk-through: send a LoB's file in a minute",
    )


def log_answer(answer: EventAnswer, http_status: int) -> None:
    """The line of one event answer: who, which event, how it ended (`http_status`: as the
    API sends it). Never its payload."""
    _logger.info(
        "event",
        source=answer.source,
        event_id=answer.event_id[:MAX_FIELD_LENGTH],
        event_type=answer.event_type[:MAX_FIELD_LENGTH],
        status=answer.status.value,
        http_status=http_status,
        duration_ms=round(answer.duration_ms, 2),
        replayed=answer.replayed,
    )


def _redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    for name in event_dict.keys() & _SECRET_FIELDS:
        event_dict[name] = REDACTED
    return event_dict


class _StandardErrorWriter:
    """A structlog logger that writes each line, whole, to `sys.stderr` as it is at that moment
    (pytest and other tools swap it)."""

    _lock = threading.Lock()

    def msg(self, message: str) -> None:
        with self._lock:
            stream = sys.stderr
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


_WRITER = _StandardErrorWriter()


def _standard_error_logger(*_args: Any) -> _StandardErrorWriter:
    return _WRITER


class _StandardErrorHandler(logging.StreamHandler[TextIO]):
    """A logging handler writing to `sys.stderr` as it is at each record."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
