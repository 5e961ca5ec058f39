"""Organizations, and how a source's own organization codes resolve to them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from catalog_gateway.caching import ExpiringCache
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


def list_organizations(session: Session) -> list[Organization]:
    """Every organization, by key."""
    return list(session.scalars(select(Organization).order_by(Organization.key)))


@dataclass(frozen=True, slots=True)
class OrganizationRef:
    """What a product needs of its organization: its row id and its key."""

    id: int
    key: str


# How each source's organization codes resolved lately, per process. Only successful answers
# are kept (an unknown code is asked again next time), and an organization's id and key never
# change, so the only staleness is a code that `sources map-org` moved to another organization:
# it takes effect within the cache's time to live.
OrganizationCache = ExpiringCache[tuple[int, str], OrganizationRef]


def resolve_organization(
    session: Session, source_id: int, code: str, cache: OrganizationCache | None = None
) -> OrganizationRef:
    """The organization a source means by `code`: its own mapping first, then the key itself."""
    if cache is not None:
        known, remembered = cache.lookup((source_id, code))
        if known and remembered is not None:
            return remembered
    organization = _lookup_organization(session, source_id, code)
    found = OrganizationRef(organization.id, organization.key)
    if cache is not None:
        cache.store((source_id, code), found)
    return found


_MAPPED = (
    select(Organization)
    .join(SourceOrganizationCode, SourceOrganizationCode.organization_id == Organization.id)
    .where(
        SourceOrganizationCode.source_id == bindparam("source_id"),
        SourceOrganizationCode.external_code == bindparam("code"),
    )
)
_BY_KEY = select(Organization).where(Organization.key == bindparam("code"))


def _lookup_organization(session: Session, source_id: int, code: str) -> Organization:
    mapped = session.scalar(_MAPPED, {"source_id": source_id, "code": code})
    if mapped is not None:
        return mapped
    organization = session.scalar(_BY_KEY, {"code": code})
    if organization is None:
        raise UnknownReferenceError(
            f"organization {code!r} is neither a known organization key nor one of this "
            "source's mapped organization codes",
            code=ErrorCode.UNKNOWN_ORGANIZATION,
            field="organization",
        )
    return organization
