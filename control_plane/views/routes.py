"""Player heartbeats: ``POST /api/v1/videos/{id}/views`` (anonymous allowed)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from control_plane.http.audience import AudienceDep
from control_plane.http.clientip import client_ip
from control_plane.http.deps import ServicesDep
from control_plane.http.openapi import problems
from control_plane.views.device import device_of

router = APIRouter(prefix="/api/v1/videos", tags=["views"])

Id = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="32 hexadecimal digits")]


class HeartbeatIn(BaseModel):
    session: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the player's id for this playback (a new one for each page load)",
    )
    position: float = Field(ge=0, le=1e6, description="seconds into the video the player is at")
    watched_seconds: float = Field(
        ge=0, le=1e6, description="seconds of this session watched so far (the server caps it at wall time)"
    )


class HeartbeatOut(BaseModel):
    counted: bool = Field(description="this heartbeat made the session count as a view")
    watched_seconds: float = Field(description="the session's watch time the server accepted")


@router.post("/{video_id}/views", response_model=HeartbeatOut, responses=problems(403, 429, 451))
def heartbeat(
    video_id: Id, body: HeartbeatIn, request: Request, audience: AudienceDep, services: ServicesDep
) -> HeartbeatOut:
    """A player's heartbeat, every 5 s while playing. A view counts once the session has
    watched 10 s (the whole video if shorter), once per viewer per hour; views and watch time
    reach the video and its analytics within ``SOCIALFLOW_VIEWS_FLUSH_INTERVAL`` seconds."""
    settings = services.settings
    address = client_ip(request, settings.trusted_proxies)
    viewer = audience.user_id or "a:" + hashlib.sha256(address.encode()).hexdigest()[:24]
    result = services.views.heartbeat(
        video_id,
        audience,
        viewer=viewer,
        device=device_of(request.headers.get("user-agent", "")),
        session=body.session,
        position=body.position,
        watched=body.watched_seconds,
    )
    return HeartbeatOut(counted=result.counted, watched_seconds=round(result.watched, 3))
