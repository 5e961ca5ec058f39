"""Organizations, and how a source's own organization codes resolve to them."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.catalog.changes import Action, Upserted, assign_changed, settle
from catalog_gateway.catalog.models import Organization
from catalog_gateway.errors import ErrorCode, InvalidValueError, UnknownReferenceError
from catalog_gateway.sources.models import SourceOrganizationCode

ORGANIZATION_KEY_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


def ensure_organization(session: Session, key: str, name: str) -> Upserted[Organization]:
    """Create the organization, or update its name; `unchanged` when it is already so."""
    if not re.fullmatch(ORGANIZATION_KEY_PATTERN, key):
        raise InvalidValueError(
            f"organization key {key!r} must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'",
            code=ErrorCode.INVALID_REQUEST,
            field="key",
        )
    if not name.strip():
        raise InvalidValueError(
            "an organization needs a name", code=ErrorCode.INVALID_REQUEST, field="name"
        )
    organization = session.scalar(select(Organization).where(Organization.key == key))
    if organization is None:
        organization = Organization(key=key, name=name)
        session.add(organization)
        session.flush()
        return Upserted(organization, Action.CREATED)
    changed = assign_changed(organization, {"name": name})
    return Upserted(organization, settle(organization, created=False, changed=changed))


@dataclass(frozen=True, slots=True)
class OrganizationRef:
    """What a product needs of its organization: its row id and its key."""

    id: int
    key: str


class OrganizationCache:
    """How each source's organization codes resolved lately, for `ttl_seconds` per process.

    Only successful answers are kept (an unknown code is asked again next time), and an
    organization's id and key never change, so the only staleness is a code that
    `sources map-org` moved to another organization: it takes effect within the TTL.
    """

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self._entries: TTLCache[tuple[int, str], OrganizationRef] = TTLCache(
            maxsize=max_entries, ttl=ttl_seconds
        )
        self._lock = threading.Lock()

    def get(self, source_id: int, code: str) -> OrganizationRef | None:
        """The remembered organization, or None."""
        with self._lock:
            return self._entries.get((source_id, code))

    def put(self, source_id: int, code: str, organization: OrganizationRef) -> None:
        """Remember how `code` resolved for `source_id`."""
        with self._lock:
            self._entries[(source_id, code)] = organization


def resolve_organization(
    session: Session, source_id: int, code: str, cache: OrganizationCache | None = None
) -> OrganizationRef:
    """The organization a source means by `code`: its own mapping first, then the key itself."""
    if cache is not None and (known := cache.get(source_id, code)) is not None:
        return known
    organization = _lookup_organization(session, source_id, code)
    found = OrganizationRef(organization.id, organization.key)
    if cache is not None:
        cache.put(source_id, code, found)
    return found


def _lookup_organization(session: Session, source_id: int, code: str) -> Organization:
    mapped = session.scalar(
        select(Organization)
        .join(SourceOrganizationCode, SourceOrganizationCode.organization_id == Organization.id)
        .where(
            SourceOrganizationCode.source_id == source_id,
            SourceOrganizationCode.external_code == code,
        )
    )
    if mapped is not None:
        return mapped
    organization = session.scalar(select(Organization).where(Organization.key == code))
    if organization is None:
        raise UnknownReferenceError(
            f"organization {code!r} is neither a known organization key nor one of this "
            "source's mapped organization codes",
            code=ErrorCode.UNKNOWN_ORGANIZATION,
            field="organization",
        )
    return organization
