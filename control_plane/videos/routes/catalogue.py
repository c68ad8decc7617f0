"""The catalogue's lists: the public catalogue and the owner's own videos, in cursor pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from control_plane.http.audience import AudienceDep
from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.pagination import Page, PageDep
from control_plane.videos.models import Category, VideoState
from control_plane.videos.routes.videos import OWNER_PREVIEW_TTL, VideoOut, signed, video_view

router = APIRouter(prefix="/api/v1", tags=["videos"])


@router.get("/videos", response_model=Page[VideoOut])
def catalogue(
    services: ServicesDep,
    viewer: ViewerDep,
    audience: AudienceDep,
    page: PageDep,
    channel: Annotated[str | None, Query(max_length=64, description="a channel's username")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    category: Category | None = None,
    sort: Literal["latest", "popular"] = "latest",
) -> Page[VideoOut]:
    """Public, ready videos: the latest published first, or the most viewed (``popular``);
    without the videos geofenced from the caller's country, nor age-restricted ones unless the
    caller is a signed-in adult."""
    listed, cursor = services.catalogue.public(
        page,
        sort=sort,
        channel=channel,
        tag=tag,
        category=category,
        viewer_id=viewer.user.id if viewer else None,
        audience=audience,
    )
    return Page[VideoOut](items=[video_view(services, item) for item in listed], next_cursor=cursor)


@router.get("/users/me/videos", response_model=Page[VideoOut])
def my_videos(
    principal: PrincipalDep, services: ServicesDep, page: PageDep, status: VideoState | None = None
) -> Page[VideoOut]:
    """The caller's own videos in every status (or the one asked), the newest upload first; a
    private one's URLs are signed for an hour, as in ``GET /videos/{id}``."""
    listed, cursor = services.catalogue.owned(principal.user.id, page, status=status)
    items = [
        signed(services, item, OWNER_PREVIEW_TTL, principal.user.id)[0]
        if item.video.visibility == "private" and item.video.status == "ready"
        else video_view(services, item)
        for item in listed
    ]
    return Page[VideoOut](items=items, next_cursor=cursor)
