"""``GET /api/v1/search``: videos, channels, posts or hashtags matching the search box's text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from control_plane.http.audience import AudienceDep
from control_plane.http.deps import ServicesDep, ViewerDep
from control_plane.http.pagination import Page, PageDep
from control_plane.search.schemas import SearchHit, SearchType

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search", response_model=Page[SearchHit])
def search(
    q: Annotated[str, Query(min_length=1, max_length=200, description="the search box's text")],
    page: PageDep,
    viewer: ViewerDep,
    audience: AudienceDep,
    services: ServicesDep,
    type: SearchType = "videos",
) -> Page[SearchHit]:
    """Every word must match, the last also as the start of a word (as you type); best match
    first. Hashtags match by prefix, the most used first. Public: private, hidden and deleted
    things never come back, nor videos geofenced in the caller's country or age-restricted for
    them, nor posts held for review (but to their author)."""
    items, cursor = services.search.search(
        type, q, viewer.user.id if viewer else None, page, audience=audience
    )
    return Page(items=items, next_cursor=cursor)
