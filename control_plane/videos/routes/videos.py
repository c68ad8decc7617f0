"""Videos: their state and playback URLs, visibility, signed playback, the original source, and
live status events.

A private video is seen only by its owner and moderators, and plays only through signed
playback tokens (``POST /api/v1/videos/{id}/playback-tokens``): its playback URLs carry the token
in the path, and ``/media`` checks it on every playlist, segment and picture.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from control_plane.core.errors import Conflict, Forbidden, NotFound
from control_plane.http.deps import Principal, PrincipalDep, ServicesDep
from control_plane.http.ranges import blob_response
from control_plane.services import Services
from control_plane.videos.models import Video

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])

TERMINAL = ("ready", "failed", "blocked")
EVENT_POLL = 0.5  # seconds between looks at the database
EVENT_MAX_SECONDS = 3600.0
#: Seconds the signed URLs shown to a private video's owner in ``GET /videos/{id}`` stay valid.
OWNER_PREVIEW_TTL = 3600
Visibility = Literal["public", "unlisted", "private"]


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
    visibility: str


class VideoPatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=200)
    visibility: Visibility | None = Field(
        None, description="public; unlisted (playable by link); private (signed playback tokens only)"
    )


class PlaybackTokenIn(BaseModel):
    ttl: int = Field(3600, ge=60, description="seconds the token stays valid (capped by the server)")


class PlaybackTokenOut(BaseModel):
    token: str
    expires_at: datetime
    playback: Playback
    thumbnail: str | None
    storyboard: str | None


def video_view(video: Video, public_url: str, token: str | None = None) -> VideoOut:
    """The API's view of ``video``; with ``token`` its file URLs are the signed ones."""
    outputs: dict[str, Any] = video.outputs or {}
    base = f"{public_url}/media/videos/{video.id}/" + (f"t/{token}/" if token else "")

    def url(name: str) -> str | None:
        path = outputs.get(name)
        return f"{base}{path}" if path and video.status == "ready" else None

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
        visibility=video.visibility,
    )


def manages(principal: Principal, video: Video) -> bool:
    return video.owner_id == principal.user.id or principal.has_role("moderator")


def load_visible(services: Services, principal: Principal, video_id: str) -> Video:
    """The video if the caller may see it: its owner and moderators always, others once it is
    ready and not private. Anything else is 404, so private videos are not revealed."""
    with services.db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        if not manages(principal, video) and (video.status != "ready" or video.visibility == "private"):
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        session.expunge(video)
        return video


def signed(services: Services, video: Video, ttl: int, viewer: str) -> tuple[VideoOut, str, int]:
    """The view with URLs signed for ``ttl`` seconds, the token, and its expiry (Unix seconds)."""
    token, expires = services.playback.issue(video.id, ttl, viewer=viewer)
    return video_view(video, services.settings.effective_public_url, token), token, expires


@router.get("/{video_id}", response_model=VideoOut)
def get_video(video_id: str, principal: PrincipalDep, services: ServicesDep) -> VideoOut:
    """A private video's owner (or a moderator) gets playback URLs signed for an hour."""
    video = load_visible(services, principal, video_id)
    if video.visibility == "private" and video.status == "ready":
        return signed(services, video, OWNER_PREVIEW_TTL, principal.user.id)[0]
    return video_view(video, services.settings.effective_public_url)


@router.patch("/{video_id}", response_model=VideoOut)
def update_video(video_id: str, body: VideoPatch, principal: PrincipalDep, services: ServicesDep) -> VideoOut:
    """Change the title or the visibility. The owner only."""
    load_visible(services, principal, video_id)
    services.videos.update(principal.user.id, video_id, title=body.title, visibility=body.visibility)
    return get_video(video_id, principal, services)


@router.post("/{video_id}/retry", status_code=202, response_model=VideoOut)
def retry_video(video_id: str, principal: PrincipalDep, services: ServicesDep) -> VideoOut:
    """Run a failed video's processing again, or a stuck one's (its jobs' process stopped). The
    owner only; 409 ``VIDEO_PROCESSING`` while a job of it is queued or running, 409
    ``VIDEO_NOT_RETRYABLE`` unless it is failed or processing."""
    load_visible(services, principal, video_id)
    services.videos.retry(principal.user.id, video_id)
    return get_video(video_id, principal, services)


@router.post("/{video_id}/playback-tokens", status_code=201, response_model=PlaybackTokenOut)
def playback_token(
    video_id: str, body: PlaybackTokenIn, principal: PrincipalDep, services: ServicesDep
) -> PlaybackTokenOut:
    """A signed playback token (and the URLs that carry it) for a ready video, to hand to a
    viewer. The owner or a moderator only; ``ttl`` is capped by SOCIALFLOW_PLAYBACK_TOKEN_MAX_TTL."""
    video = load_visible(services, principal, video_id)
    if not manages(principal, video):
        raise Forbidden("Only the video's owner can sign playback tokens.", code="NOT_OWNER")
    if video.status != "ready":
        raise Conflict("The video is not ready to play yet.", code="VIDEO_NOT_READY")
    view, token, expires = signed(services, video, body.ttl, principal.user.id)
    return PlaybackTokenOut(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        playback=view.playback,
        thumbnail=view.thumbnail,
        storyboard=view.storyboard,
    )


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
