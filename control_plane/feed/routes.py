"""The home feed route: validate, call the feed service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from control_plane.feed.schemas import FeedEntry
from control_plane.feed.service import Algorithm
from control_plane.http.audience import AudienceDep
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["feed"])


@router.get("/feed", response_model=Page[FeedEntry])
def home_feed(
    principal: PrincipalDep,
    audience: AudienceDep,
    services: ServicesDep,
    page: PageDep,
    algorithm: Annotated[
        Algorithm,
        Query(description="following: newest first; ranked: scored by recency, engagement and affinity"),
    ] = "following",
) -> Page[FeedEntry]:
    """Posts and new public videos of the accounts you follow, and their reposts (each post once,
    with who reposted it), without blocked or muted accounts or deleted items, videos geofenced in
    your country or age-restricted for you, or posts held for review (but your own). A ranked cursor
    lasts 30 minutes (``SOCIALFLOW_FEED_RANKED_TTL``); past that it is refused with 422."""
    items, cursor = services.feed.read(principal.user.id, algorithm, page, audience=audience)
    return Page(items=items, next_cursor=cursor)
