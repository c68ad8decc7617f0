"""Operator views: the audit log of security events (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from control_plane.accounts.models import AuditEvent
from control_plane.http.deps import AdminDep, ServicesDep

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    kind: str
    user_id: str | None
    ip: str | None
    detail: dict[str, Any]


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    services: ServicesDep,
    principal: AdminDep,
    kind: str | None = Query(None, max_length=48),
    user_id: str | None = Query(None, max_length=32),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditOut]:
    """Newest first, optionally filtered by kind and user."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    if user_id:
        query = query.where(AuditEvent.user_id == user_id)
    with services.db.session() as session:
        return [
            AuditOut(id=e.id, at=e.at, kind=e.kind, user_id=e.user_id, ip=e.ip, detail=e.detail or {})
            for e in session.scalars(query)
        ]
