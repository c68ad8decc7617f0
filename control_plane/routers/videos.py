"""Videos: their state and playback URLs, the original source, and live status events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from control_plane.deps import Principal, PrincipalDep, ServicesDep
from control_plane.errors import NotFound
from control_plane.models import Video
from control_plane.ranges import blob_response
from control_plane.services import Services

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])

TERMINAL = ("ready", "failed", "blocked")
EVENT_POLL = 0.5  # seconds between looks at the database
EVENT_MAX_SECONDS = 3600.0


class Rendition(BaseModel):
    width: int | None
    height: int | None
    bitrate: int
    codec: str


class Playback(BaseModel):
    hls: str | None
    dash: str | None


class VideoOut(BaseModel):
    id: str
    owner_id: str
    title: str
    status: str
    progress: float
    error: str | None
    duration: float | None
    renditions: list[Rendition]
    playback: Playback
    thumbnail: str | None
    storyboard: str | None


def video_view(video: Video, public_url: str) -> VideoOut:
    outputs: dict[str, Any] = video.outputs or {}

    def url(name: str) -> str | None:
        path = outputs.get(name)
        return f"{public_url}/media/videos/{video.id}/{path}" if path and video.status == "ready" else None

    return VideoOut(
        id=video.id,
        owner_id=video.owner_id,
        title=video.title,
        status=video.status,
        progress=video.progress,
        error=video.error,
        duration=video.duration,
        renditions=[Rendition(**r) for r in (video.renditions or [])],
        playback=Playback(hls=url("hls"), dash=url("dash")),
        thumbnail=url("thumbnail"),
        storyboard=url("storyboard"),
    )


def load_visible(services: Services, principal: Principal, video_id: str) -> Video:
    """The video if the caller may see it: its owner and moderators always, others once ready."""
    with services.db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        if (
            video.owner_id != principal.user.id
            and not principal.has_role("moderator")
            and video.status != "ready"
        ):
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        session.expunge(video)
        return video


@router.get("/{video_id}", response_model=VideoOut)
def get_video(video_id: str, principal: PrincipalDep, services: ServicesDep) -> VideoOut:
    return video_view(load_visible(services, principal, video_id), services.settings.effective_public_url)


@router.get("/{video_id}/source")
def get_source(
    video_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> StreamingResponse:
    """The original upload, byte for byte, with range requests. Owner only."""
    video = load_visible(services, principal, video_id)
    if video.owner_id != principal.user.id or not video.source_key:
        raise NotFound("No source for this video.", code="SOURCE_NOT_FOUND")
    return blob_response(services.store, video.source_key, request, content_type="application/octet-stream")


@router.get("/{video_id}/events")
async def events(
    video_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> StreamingResponse:
    """Server-sent events: a ``status`` event at each change of status or progress, ending once the
    video is ready, failed or blocked."""
    load_visible(services, principal, video_id)

    def snapshot() -> dict[str, Any] | None:
        with services.db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                return None
            return {"id": video.id, "status": video.status, "progress": video.progress, "error": video.error}

    async def stream() -> AsyncIterator[bytes]:
        last: dict[str, Any] | None = None
        waited = 0.0
        while waited < EVENT_MAX_SECONDS and not await request.is_disconnected():
            current = await asyncio.to_thread(snapshot)
            if current is None:
                yield b"event: deleted\ndata: {}\n\n"
                return
            if current != last:
                yield f"event: status\ndata: {json.dumps(current)}\n\n".encode()
                last = current
                if current["status"] in TERMINAL:
                    return
            await asyncio.sleep(EVENT_POLL)
            waited += EVENT_POLL

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
