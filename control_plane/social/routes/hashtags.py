"""Hashtags: the trending ones, and the posts carrying one."""

from __future__ import annotations

from fastapi import APIRouter

from control_plane.http.deps import ServicesDep, ViewerDep
from control_plane.http.pagination import Page, PageDep
from control_plane.social.routes import Tag, viewer_of
from control_plane.social.schemas import PostOut, TrendOut

router = APIRouter(prefix="/api/v1/hashtags", tags=["hashtags"])


@router.get("/trending", response_model=Page[TrendOut])
def trending(page: PageDep, services: ServicesDep) -> Page[TrendOut]:
    """Tags more accounts use today than yesterday, highest score first (recomputed every few minutes)."""
    items, cursor = services.social.trends.trending(page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{tag}/posts", response_model=Page[PostOut])
def tagged(tag: Tag, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[PostOut]:
    """The posts carrying the tag, whatever its case or width (``#Café`` is ``#café``), newest first."""
    items, cursor = services.social.timelines.by_tag(tag, viewer_of(viewer), page)
    return Page(items=items, next_cursor=cursor)
