"""Every error code the service answers with, in one place, and the domain exception classes.

Codes are part of the contract: clients branch on them. Messages are written for the integrator
who has to act on them.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Machine-readable error codes (answers' `code`)."""

    # Requests that are not about one event.
    INVALID_REQUEST = "invalid_request"
    INVALID_CURSOR = "invalid_cursor"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"
    THROTTLED = "throttled"
    OVERLOADED = "overloaded"
    CATALOG_UNAVAILABLE = "catalog_unavailable"
    BODY_TOO_LARGE = "body_too_large"
    INPUT_TOO_COMPLEX = "input_too_complex"
    # Events: the envelope and its handling.
    MALFORMED_JSON = "malformed_json"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_ENVELOPE = "invalid_envelope"
    EVENT_TYPE_NOT_ALLOWED = "event_type_not_allowed"
    EVENT_ID_REUSED = "event_id_reused"
    EVENT_IN_PROGRESS = "event_in_progress"
    TRANSFORM_FAILED = "transform_failed"
    CATALOG_WRITE_FAILED = "catalog_write_failed"
    ANSWER_NOT_STORED = "answer_not_stored"
    BATCH_TOO_LARGE = "batch_too_large"
    BATCH_ABORTED = "batch_aborted"
    ECOMMERCE_REJECTED = "ecommerce_rejected"
    ECOMMERCE_UNAVAILABLE = "ecommerce_unavailable"
    ECOMMERCE_TIMEOUT = "ecommerce_timeout"
    DOWNSTREAM_UNAVAILABLE = "downstream_unavailable"
    # Payload fields (schema).
    REQUIRED = "required"
    UNKNOWN_FIELD = "unknown_field"
    INVALID_TYPE = "invalid_type"
    INVALID_FORMAT = "invalid_format"
    INVALID_CHOICE = "invalid_choice"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    OUT_OF_RANGE = "out_of_range"
    INVALID_URL = "invalid_url"
    INVALID_LANGUAGE = "invalid_language"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_PRICE = "invalid_price"
    INVALID_EFFORT = "invalid_effort"
    INVALID_VALUE = "invalid_value"
    INVALID_CHARACTER = "invalid_character"
    # Catalog references.
    UNKNOWN_ORGANIZATION = "unknown_organization"
    UNKNOWN_COURSE = "unknown_course"
    UNKNOWN_INSTRUCTOR = "unknown_instructor"
    UNKNOWN_DEGREE = "unknown_degree"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_COURSE_TYPE = "unknown_course_type"
    UNKNOWN_RUN_TYPE = "unknown_run_type"
    RUN_TYPE_NOT_ALLOWED = "run_type_not_allowed"
    UNKNOWN_SEAT_TYPE = "unknown_seat_type"
    SEAT_TYPE_NOT_ALLOWED = "seat_type_not_allowed"
    UNKNOWN_SUBJECT = "unknown_subject"
    UNKNOWN_LEVEL = "unknown_level"
    UNKNOWN_PROGRAM_TYPE = "unknown_program_type"
    SUBJECT_EXISTS = "subject_exists"
    # Catalog rules.
    NOT_OWNER = "not_owner"
    COURSE_KEY_TAKEN = "course_key_taken"
    MARKETING_SLUG_TAKEN = "marketing_slug_taken"
    COURSE_SLUG_TAKEN = "course_slug_taken"
    DUPLICATE_SEAT = "duplicate_seat"
    ILLEGAL_STATUS_TRANSITION = "illegal_status_transition"
    STALE = "stale"
    NEWER_DATA_KEPT = "newer_data_kept"
    HTML_SANITIZED = "html_sanitized"
    INSTRUCTOR_IDENTIFIED_BY_NAME = "instructor_identified_by_name"
    INVALID_DATE = "invalid_date"
    # Sources and keys.
    SOURCE_EXISTS = "source_exists"
    UNKNOWN_SOURCE = "unknown_source"
    UNKNOWN_KEY = "unknown_key"
    INVALID_RATE = "invalid_rate"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNKNOWN_TRANSFORMER = "unknown_transformer"


class CatalogGatewayError(Exception):
    """A failure the caller can act on: a code, a message, and (for fields) where."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: ErrorCode | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class NotFoundError(CatalogGatewayError):
    """The thing asked for does not exist."""

    code = ErrorCode.NOT_FOUND


class UnknownReferenceError(CatalogGatewayError):
    """A value names something the catalog does not know (an organization, a run type, …)."""


class NotOwnerError(CatalogGatewayError):
    """The product belongs to another source."""

    code = ErrorCode.NOT_OWNER


class ConflictError(CatalogGatewayError):
    """The change would break a uniqueness rule (a course key, a marketing slug, …)."""


class IllegalTransitionError(CatalogGatewayError):
    """A run status change the state machine does not allow."""

    code = ErrorCode.ILLEGAL_STATUS_TRANSITION


class StaleEventError(CatalogGatewayError):
    """The event is older than the last one applied to its entity."""

    code = ErrorCode.STALE


class InvalidValueError(CatalogGatewayError):
    """A value the domain cannot accept (e.g. a run that ends before it starts)."""


class DownstreamUnavailableError(CatalogGatewayError):
    """A downstream system's breaker is open: the event was not started (nothing changed)."""

    code = ErrorCode.DOWNSTREAM_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
