"""Request ids: the client's `X-Request-ID` when it is valid, else a new one; and the paths of
event requests (both needed before a request reaches the application)."""

from __future__ import annotations

import re
import uuid

from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
EVENT_PATHS = frozenset({"/api/v1/events", "/api/v1/events/batch"})
# The rule of event ids: 1 to 128 printable ASCII characters, no spaces.
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def request_id_of(scope: Scope) -> str:
    """The request's id: the one the client sent, when valid; otherwise a new one."""
    for key, value in scope["headers"]:
        if key == REQUEST_ID_KEY:
            sent = bytes(value).decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(sent):
                return sent
            break
    return uuid.uuid4().hex
