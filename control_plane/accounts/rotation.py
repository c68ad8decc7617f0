"""The audit trail of signing-key rotations.

Each process that serves the API compares the id of the key it signs access tokens with to the
last one the audit log recorded; a different id means the secret was rotated, and
``signing_key.activated`` is recorded with the new and the former id (never a key).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from control_plane.accounts.models import AuditEvent
from control_plane.accounts.tokens import TokenCodec
from control_plane.core.db import Database

__all__ = ["record_signing_key"]

log = logging.getLogger(__name__)

ACTIVATED = "signing_key.activated"


def record_signing_key(db: Database, codec: TokenCodec) -> bool:
    """Audit the signing key if it is not the one last recorded; True when an event was added."""
    with db.session() as session:
        last = session.scalar(
            sa.select(AuditEvent).where(AuditEvent.kind == ACTIVATED).order_by(AuditEvent.id.desc()).limit(1)
        )
        former = (last.detail or {}).get("kid") if last is not None else None
        if former == codec.kid:
            return False
        session.add(
            AuditEvent(
                kind=ACTIVATED,
                detail={"kid": codec.kid, "previous_kid": former, "verifying_kids": sorted(codec.ring.keys)},
            )
        )
    log.info("signing key %s activated (previous %s)", codec.kid, former)
    return True
