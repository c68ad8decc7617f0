"""Posts: write, read, delete; a post's replies and an account's posts."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page, PageDep
from control_plane.social.posts import MAX_TEXT, Draft
from control_plane.social.routes import Id, Text, Username, viewer_of
from control_plane.social.schemas import PostOut

router = APIRouter(prefix="/api/v1", tags=["posts"])

OptionalId = Field(None, pattern="^[0-9a-f]{32}$")


class PostIn(BaseModel):
    """``text`` may be empty only for a repost or a post of a video."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field("", max_length=MAX_TEXT)
    video_id: str | None = OptionalId
    reply_to: str | None = OptionalId
    repost_of: str | None = OptionalId
    quote_of: str | None = OptionalId


@router.post("/posts", status_code=201, response_model=PostOut, responses=problems(403, 404, 409))
def create_post(body: PostIn, principal: PrincipalDep, services: ServicesDep) -> PostOut:
    """Post, reply, repost or quote; ``#tags`` and ``@mentions`` are read from the text.
    422 for a rule broken (too long, too many tags, more than one reference); 429 past the hourly limit."""
    draft = Draft(**body.model_dump())
    return services.social.posts.create(viewer_of(principal), draft)


@router.get("/posts/{post_id}", response_model=PostOut)
def get_post(post_id: Id, viewer: ViewerDep, services: ServicesDep) -> PostOut:
    return services.social.posts.get(post_id, viewer_of(viewer))


@router.delete("/posts/{post_id}", status_code=204, response_class=Response, responses=problems(403))
def delete_post(post_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete the post, its reposts and its likes: its author or a moderator."""
    services.social.posts.delete(post_id, viewer_of(principal))
    return Response(status_code=204)


@router.get("/posts/{post_id}/replies", response_model=Page[PostOut])
def replies(post_id: Id, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[PostOut]:
    """The direct replies, oldest first."""
    items, cursor = services.social.timelines.replies(post_id, viewer_of(viewer), page)
    return Page(items=items, next_cursor=cursor)


@router.get("/users/{username}/posts", response_model=Page[PostOut])
def user_posts(username: Username, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[PostOut]:
    """The account's posts, replies and reposts, newest first."""
    items, cursor = services.social.timelines.by_author(username, viewer_of(viewer), page)
    return Page(items=items, next_cursor=cursor)
