"""``GET /api/v1/recommendations`` (signed in) and ``GET /api/v1/videos/{id}/related`` (public)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from control_plane.http.audience import AudienceDep
from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page
from control_plane.moderation.access import check_watch
from control_plane.videos.routes.videos import VideoOut, load_visible, video_view

router = APIRouter(prefix="/api/v1", tags=["recommendations"])

Id = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="32 hexadecimal digits")]
Limit = Annotated[int, Query(ge=1, le=50, description="videos to return")]


def _language(request: Request) -> str | None:
    """The first language of ``Accept-Language`` (``pt-BR,pt;q=0.8`` → ``pt``)."""
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    if not first or first == "*":
        return None
    return first.split("-")[0].lower()[:8] or None


@router.get("/recommendations", response_model=Page[VideoOut])
def recommendations(
    request: Request, principal: PrincipalDep, audience: AudienceDep, services: ServicesDep, limit: Limit = 20
) -> Page[VideoOut]:
    """Videos for the signed-in viewer, blended from what similar viewers watched, what is watched
    together, similar content and what is popular in their country; one page (``next_cursor`` is
    always null: the list is computed afresh)."""
    listed = services.recommendations.for_user(audience, limit, language=_language(request))
    return Page[VideoOut](items=[video_view(services, item) for item in listed], next_cursor=None)


@router.get("/videos/{video_id}/related", response_model=Page[VideoOut], responses=problems(403, 451))
def related(
    video_id: Id, principal: ViewerDep, audience: AudienceDep, services: ServicesDep, limit: Limit = 20
) -> Page[VideoOut]:
    """Videos to watch after this one (anyone who may see it): watched together with it, similar
    in content and in the taste of those who watched it."""
    video = load_visible(services, principal, video_id).video
    check_watch(
        audience,
        owner_id=video.owner_id,
        age_restricted=video.age_restricted,
        blocked_countries=services.videos.blocked_countries(video_id),
        platform_blocked=services.settings.geo_blocked_countries,
    )
    listed = services.recommendations.related(video_id, audience, limit)
    return Page[VideoOut](items=[video_view(services, item) for item in listed], next_cursor=None)
