"""Follow, block and mute; the followers, following, blocks and mutes lists."""

from __future__ import annotations

from fastapi import APIRouter, Response

from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page, PageDep
from control_plane.social.routes import Username
from control_plane.social.schemas import UserItem

router = APIRouter(prefix="/api/v1/users", tags=["social graph"])


@router.put("/{username}/follow", status_code=204, response_class=Response, responses=problems(403))
def follow(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Follow the account (idempotent). 403 ``BLOCKED`` across a block; 429 past the hourly limit."""
    services.social.graph.follow(principal.user.id, username)
    return Response(status_code=204)


@router.delete("/{username}/follow", status_code=204, response_class=Response)
def unfollow(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.graph.unfollow(principal.user.id, username)
    return Response(status_code=204)


@router.put("/{username}/block", status_code=204, response_class=Response, responses=problems(403))
def block(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Block the account: the follows between you end both ways and each is hidden from the other."""
    services.social.graph.block(principal.user.id, username)
    return Response(status_code=204)


@router.delete("/{username}/block", status_code=204, response_class=Response)
def unblock(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.graph.unblock(principal.user.id, username)
    return Response(status_code=204)


@router.put("/{username}/mute", status_code=204, response_class=Response, responses=problems(403))
def mute(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Mute the account: its content is hidden from you; it is not told."""
    services.social.graph.mute(principal.user.id, username)
    return Response(status_code=204)


@router.delete("/{username}/mute", status_code=204, response_class=Response)
def unmute(username: Username, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.graph.unmute(principal.user.id, username)
    return Response(status_code=204)


@router.get("/me/blocks", response_model=Page[UserItem])
def my_blocks(page: PageDep, principal: PrincipalDep, services: ServicesDep) -> Page[UserItem]:
    items, cursor = services.social.graph.blocks(principal.user.id, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/me/mutes", response_model=Page[UserItem])
def my_mutes(page: PageDep, principal: PrincipalDep, services: ServicesDep) -> Page[UserItem]:
    items, cursor = services.social.graph.mutes(principal.user.id, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{username}/followers", response_model=Page[UserItem])
def followers(username: Username, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[UserItem]:
    """Who follows the account, most recent first (public)."""
    items, cursor = services.social.graph.followers(username, viewer.user.id if viewer else None, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{username}/following", response_model=Page[UserItem])
def following(username: Username, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[UserItem]:
    """Whom the account follows, most recent first (public)."""
    items, cursor = services.social.graph.following(username, viewer.user.id if viewer else None, page)
    return Page(items=items, next_cursor=cursor)
