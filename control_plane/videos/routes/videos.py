"""Videos: their state, metadata and playback URLs, visibility, signed playback, the original
source, live status events, and deletion.

A public or unlisted video that is ready answers anyone, signed in or not. A private video is
seen only by its owner and moderators, and plays only through signed playback tokens
(``POST /api/v1/videos/{id}/playback-tokens``): its playback URLs carry the token in the path,
and ``/media`` checks it on every playlist, segment and picture.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from control_plane.channels.avatar import SIZES as AVATAR_SIZES
from control_plane.channels.cards import ChannelCard, avatar_urls
from control_plane.core.errors import Conflict, Forbidden, NotFound
from control_plane.core.ratelimit import Limit
from control_plane.http.audience import AudienceDep
from control_plane.http.deps import Principal, PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.openapi import answers, problems
from control_plane.http.ranges import blob_response, file_route
from control_plane.moderation.access import check_watch
from control_plane.services import Services
from control_plane.videos.catalogue import Listed, describe
from control_plane.videos.metadata import MAX_BLOCKED_COUNTRIES, MAX_DESCRIPTION, MAX_TAGS, MAX_TITLE
from control_plane.videos.models import Category, CommentPolicy, Video

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])

TERMINAL = ("ready", "failed", "blocked")
EVENT_POLL = 0.5  # seconds between looks at the database
EVENT_MAX_SECONDS = 3600.0
#: Seconds the signed URLs shown to a private video's owner in ``GET /videos/{id}`` stay valid.
OWNER_PREVIEW_TTL = 3600
#: Changes of a video's metadata, and deletions, per user.
EDITS_PER_USER = Limit("video_edit", 120, 3600.0)
DELETES_PER_USER = Limit("video_delete", 120, 3600.0)
Visibility = Literal["public", "unlisted", "private", "members"]
#: Visibilities whose playback URLs are signed for the viewer (no public URL plays them).
SIGNED = ("private", "members")
#: A tag as sent (``#`` and spaces allowed around it); the service bounds the stored form.
TagIn = Annotated[str, Field(min_length=1, max_length=64)]
Country = Annotated[str, Field(pattern="^[A-Za-z]{2}$")]


class Rendition(BaseModel):
    width: int | None
    height: int | None
    bitrate: int
    codec: str


class Playback(BaseModel):
    hls: str | None
    dash: str | None


class ChannelOut(BaseModel):
    id: str
    username: str
    display_name: str
    avatar: str | None = Field(description="URL of the avatar (400 px square), or null")


class VideoOut(BaseModel):
    id: str
    owner_id: str
    title: str
    status: str
    progress: float = Field(description="0..1 over the whole of processing; 1 once it is done")
    error: str | None = Field(
        description="what is wrong, in words for the creator: a failed input, or what holds a blocked "
        "video and where to see it"
    )
    duration: float | None
    renditions: list[Rendition]
    playback: Playback
    thumbnail: str | None
    storyboard: str | None
    visibility: str
    channel: ChannelOut | None
    description: str
    tags: list[str]
    category: str | None
    language: str | None
    comment_policy: str = Field(description="enabled, held (each comment reviewed) or disabled")
    age_restricted: bool
    views: int
    likes: int
    comments: int = Field(description="how many comments the video has")
    published_at: datetime | None
    created_at: datetime
    blocked_countries: list[str] = Field(
        default_factory=list, description="where the video is not shown (its owner and moderators see this)"
    )


class VideoPatch(BaseModel):
    """The fields an owner may change; any other field is refused (422), not dropped."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    visibility: Visibility | None = Field(
        None,
        description="public; unlisted (playable by link); private (signed playback tokens only); "
        "members (the channel's paying members and its owner)",
    )
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    tags: list[TagIn] | None = Field(None, max_length=MAX_TAGS, description="replaces the list")
    category: Category | None = None
    language: str | None = Field(None, max_length=35, description="a BCP 47 tag: en, pt-BR")
    comments: CommentPolicy | None = Field(None, description="who sees new comments: enabled, held, disabled")
    age_restricted: bool | None = None
    blocked_countries: list[Country] | None = Field(
        None, max_length=MAX_BLOCKED_COUNTRIES, description="ISO 3166-1 alpha-2 codes; replaces the list"
    )


class PlaybackTokenIn(BaseModel):
    ttl: int = Field(3600, ge=60, description="seconds the token stays valid (capped by the server)")


class PlaybackTokenOut(BaseModel):
    token: str
    expires_at: datetime
    playback: Playback
    thumbnail: str | None
    storyboard: str | None


def channel_out(card: ChannelCard | None, public_url: str) -> ChannelOut | None:
    if card is None:
        return None
    avatars = avatar_urls(public_url, card.id, card.avatar, AVATAR_SIZES)
    return ChannelOut(
        id=card.id,
        username=card.username,
        display_name=card.display_name,
        avatar=avatars.get(str(AVATAR_SIZES[-1])),
    )


def error_of(services: Services, video: Video) -> str | None:
    """The video's ``error``: for a blocked video, the hold that blocks it and where to see it
    (before any warning of its transcode); otherwise what processing recorded."""
    hold = services.videos.hold_on(video.id) if video.status == "blocked" else None
    if hold is None:
        return video.error
    see = services.settings.effective_public_url + hold.see.format(video_id=video.id)
    return "; ".join(part for part in (f"Blocked: {hold.reason} (see {see})", video.error) if part)


def video_view(services: Services, listed: Listed, token: str | None = None) -> VideoOut:
    """The API's view of a video; with ``token`` its file URLs are the signed ones."""
    video = listed.video
    public_url = services.settings.effective_public_url
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
        error=error_of(services, video),
        duration=video.duration,
        renditions=[Rendition(**r) for r in (video.renditions or [])],
        playback=Playback(hls=url("hls"), dash=url("dash")),
        thumbnail=url("thumbnail"),
        storyboard=url("storyboard"),
        visibility=video.visibility,
        channel=channel_out(listed.channel, public_url),
        description=video.description,
        tags=listed.tags,
        category=video.category,
        language=video.language,
        comment_policy=video.comment_policy,
        age_restricted=video.age_restricted,
        views=video.views,
        likes=video.likes,
        comments=video.comments,
        published_at=video.published_at,
        created_at=video.created_at,
    )


def manages(principal: Principal | None, video: Video) -> bool:
    return principal is not None and (video.owner_id == principal.user.id or principal.has_role("moderator"))


def load_visible(services: Services, principal: Principal | None, video_id: str) -> Listed:
    """The video if the caller may see it: its owner and moderators always, anyone else (signed
    in or not) once it is ready and not private; a members-only video its channel's members.
    Anything else is 404, so private and members-only videos are not revealed."""
    with services.db.session() as session:
        video = session.get(Video, video_id)
        if video is None:
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        viewer = principal.user.id if principal is not None else None
        if not manages(principal, video) and (
            video.status != "ready" or not services.videos.may_watch(session, video, viewer)
        ):
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        listed = describe(session, [video])[0]
        session.expunge_all()
        return listed


def signed(services: Services, listed: Listed, ttl: int, viewer: str) -> tuple[VideoOut, str, int]:
    """The view with URLs signed for ``ttl`` seconds, the token, and its expiry (Unix seconds)."""
    token, expires = services.playback.issue(listed.video.id, ttl, viewer=viewer)
    return video_view(services, listed, token), token, expires


@router.get("/{video_id}", response_model=VideoOut, responses=problems(403, 451))
def get_video(video_id: str, principal: ViewerDep, audience: AudienceDep, services: ServicesDep) -> VideoOut:
    """Anyone may read a ready public or unlisted video; a private video's owner (or a moderator)
    and a members-only video's owner and members get playback URLs signed for an hour. A video
    geofenced from the caller's country answers 451 ``GEO_BLOCKED``; an age-restricted one 403
    ``AGE_RESTRICTED`` unless the caller is a signed-in adult, who gets signed playback URLs (the
    public media URLs refuse it)."""
    listed = load_visible(services, principal, video_id)
    video = listed.video
    check_watch(
        audience,
        owner_id=video.owner_id,
        age_restricted=video.age_restricted,
        blocked_countries=services.videos.blocked_countries(video_id),
        platform_blocked=services.settings.geo_blocked_countries,
    )
    return read_video(services, listed, principal)


def read_video(services: Services, listed: Listed, principal: Principal | None) -> VideoOut:
    """The view the caller gets: signed URLs for a private, members-only or age-restricted ready
    video (``load_visible`` lets only those who may watch it through), the blocked countries for
    its owner and moderators."""
    video = listed.video
    if (
        principal is not None
        and (video.visibility in SIGNED or video.age_restricted)
        and video.status == "ready"
    ):
        out = signed(services, listed, OWNER_PREVIEW_TTL, principal.user.id)[0]
    else:
        out = video_view(services, listed)
    if manages(principal, video):
        out.blocked_countries = services.videos.blocked_countries(video.id)
    return out


@router.patch("/{video_id}", response_model=VideoOut, responses=problems(403))
def update_video(video_id: str, body: VideoPatch, principal: PrincipalDep, services: ServicesDep) -> VideoOut:
    """Change the title, the visibility or the metadata (fields left out stay as they are; null
    clears description, tags, category and language). The owner only."""
    load_visible(services, principal, video_id)
    services.limiter.hit(EDITS_PER_USER, principal.user.id)
    changes = body.model_dump(exclude_unset=True)
    if "comments" in changes:
        changes["comment_policy"] = changes.pop("comments")
    services.videos.update(principal.user.id, video_id, changes)
    return read_video(services, load_visible(services, principal, video_id), principal)


@router.delete("/{video_id}", status_code=204, response_class=Response)
def delete_video(video_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete the video: its renditions, source, thumbnails, storyboard, fingerprint, its
    Content-ID reference with its index entries, and every row of it. The owner or a moderator."""
    load_visible(services, principal, video_id)
    services.limiter.hit(DELETES_PER_USER, principal.user.id)
    services.videos.remove(video_id, by=principal.user.id, moderator=principal.has_role("moderator"))
    return Response(status_code=204)


@router.post("/{video_id}/retry", status_code=202, response_model=VideoOut)
def retry_video(video_id: str, principal: PrincipalDep, services: ServicesDep) -> VideoOut:
    """Run a failed video's processing again, or a stuck one's (its jobs' process stopped). The
    owner only; 409 ``VIDEO_PROCESSING`` while a job of it is queued or running, 409
    ``VIDEO_NOT_RETRYABLE`` unless it is failed or processing."""
    listed = load_visible(services, principal, video_id)
    # as the retry left it: its first job may already have moved it on (a quick failure)
    retried = services.videos.retry(principal.user.id, video_id)
    return read_video(services, dataclasses.replace(listed, video=retried), principal)


@router.post(
    "/{video_id}/playback-tokens",
    status_code=201,
    response_model=PlaybackTokenOut,
    responses=problems(403, 409),
)
def playback_token(
    video_id: str, body: PlaybackTokenIn, principal: PrincipalDep, services: ServicesDep
) -> PlaybackTokenOut:
    """A signed playback token (and the URLs that carry it) for a ready video, to hand to a
    viewer. The owner or a moderator only; ``ttl`` is capped by SOCIALFLOW_PLAYBACK_TOKEN_MAX_TTL."""
    listed = load_visible(services, principal, video_id)
    if not manages(principal, listed.video):
        raise Forbidden("Only the video's owner can sign playback tokens.", code="NOT_OWNER")
    if listed.video.status != "ready":
        raise Conflict("The video is not ready to play yet.", code="VIDEO_NOT_READY")
    view, token, expires = signed(services, listed, body.ttl, principal.user.id)
    return PlaybackTokenOut(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        playback=view.playback,
        thumbnail=view.thumbnail,
        storyboard=view.storyboard,
    )


@file_route(router, "/{video_id}/source", "application/octet-stream")
def get_source(video_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    """The original upload, byte for byte, with range requests. Owner only."""
    video = load_visible(services, principal, video_id).video
    if video.owner_id != principal.user.id or not video.source_key:
        raise NotFound("No source for this video.", code="SOURCE_NOT_FOUND")
    return blob_response(services.store, video.source_key, request, content_type="application/octet-stream")


@router.get(
    "/{video_id}/events",
    response_class=StreamingResponse,
    responses=answers(200, "text/event-stream", description="``status`` events until a final state"),
)
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
            session.expunge(video)
        return {
            "id": video.id,
            "status": video.status,
            "progress": video.progress,
            "error": error_of(services, video),
        }

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
