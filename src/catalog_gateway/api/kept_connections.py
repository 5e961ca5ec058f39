"""Keep-alive connections survive errors that were answered.

Starlette answers an unexpected error with a 500 (`api.problems`) and then raises it again to
the server, and uvicorn closes the connection on any error an app raises, even once the answer
is sent: a client that keeps its connection open (every HTTP client library does) then sees its
next request on it fail with a reset, an answer lost. So the app's outermost layer logs an
error raised after a complete answer and keeps the connection; only an answer left half sent
still closes it (the client must not take half an answer for a whole one).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class KeptConnections:
    """ASGI middleware, outermost: errors raised after a complete answer are logged, not
    raised to the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def watched(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if not answered:
                raise
            logger.exception("error after the answer to %s %s", scope["method"], scope["path"])


class GatewayApp(FastAPI):
    """The service's FastAPI application, whose connections survive answered errors."""

    def build_middleware_stack(self) -> ASGIApp:
        return KeptConnections(super().build_middleware_stack())
