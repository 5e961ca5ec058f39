"""Optional JWT bearer tokens, for deployments that already issue them.

A token signed with the configured HS256 secret or RS256 public key, not expired, whose
`CATALOG_GATEWAY_JWT_SOURCE_CLAIM` claim (default `source`) names a source, authenticates as
that source. API keys keep working beside tokens.
"""

from __future__ import annotations

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.auth.principal import Principal
from catalog_gateway.settings import Settings
from catalog_gateway.sources.models import Source


def jwt_configured(settings: Settings) -> bool:
    """True when tokens can be verified."""
    return settings.jwt_secret is not None or settings.jwt_public_key is not None


def looks_like_jwt(credential: str) -> bool:
    """Three dot-separated parts: a JWS compact serialization (API keys have no dots)."""
    return credential.count(".") == 2


def principal_for_token(session: Session, token: str, settings: Settings) -> Principal | None:
    """The source a valid token stands for, or None (bad signature, expired, unknown source)."""
    if settings.jwt_secret is not None:
        key, algorithm = settings.jwt_secret.get_secret_value(), "HS256"
    elif settings.jwt_public_key is not None:
        key, algorithm = settings.jwt_public_key, "RS256"
    else:
        return None
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError:
        return None
    slug = claims.get(settings.jwt_source_claim)
    if not isinstance(slug, str):
        return None
    source = session.scalar(select(Source).where(Source.slug == slug))
    if source is None:
        return None
    return Principal(
        key_id=f"jwt:{source.slug}",
        source_id=source.id,
        source_slug=source.slug,
        is_admin=False,
        rate=source.rate,
        burst=source.burst,
    )
