"""Comments on videos: write, list (top-level and a thread), delete, approve a held one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.openapi import problems
from control_plane.http.pagination import Page, PageDep
from control_plane.social.comments import MAX_COMMENT
from control_plane.social.routes import Id, Text, viewer_of
from control_plane.social.schemas import CommentOut

router = APIRouter(prefix="/api/v1", tags=["comments"])


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=MAX_COMMENT)
    parent_id: str | None = Field(None, pattern="^[0-9a-f]{32}$", description="the comment this replies to")


@router.post(
    "/videos/{video_id}/comments", status_code=201, response_model=CommentOut, responses=problems(403)
)
def write(video_id: Id, body: CommentIn, principal: PrincipalDep, services: ServicesDep) -> CommentOut:
    """Comment on a video you can see; ``status`` is ``held`` when the video holds comments for
    review. 403 ``COMMENTS_DISABLED``; 429 past the hourly limit."""
    return services.social.comments.write(video_id, viewer_of(principal), body.text, body.parent_id)


@router.get("/videos/{video_id}/comments", response_model=Page[CommentOut])
def top_level(
    video_id: Id,
    page: PageDep,
    viewer: ViewerDep,
    services: ServicesDep,
    sort: Literal["new", "top"] = "new",
    held: Annotated[bool, Query(description="the comments waiting for review (the video's owner)")] = False,
) -> Page[CommentOut]:
    """The video's top-level comments, newest (``new``) or most liked (``top``) first; each
    says how many ``replies`` its thread has (``GET /api/v1/comments/{id}/replies``)."""
    items, cursor = services.social.comments.top_level(video_id, viewer_of(viewer), sort, page, held=held)
    return Page(items=items, next_cursor=cursor)


@router.get("/comments/{comment_id}/replies", response_model=Page[CommentOut])
def thread(comment_id: Id, page: PageDep, viewer: ViewerDep, services: ServicesDep) -> Page[CommentOut]:
    """The replies to a top-level comment, oldest first."""
    items, cursor = services.social.comments.thread(comment_id, viewer_of(viewer), page)
    return Page(items=items, next_cursor=cursor)


@router.delete("/comments/{comment_id}", status_code=204, response_class=Response, responses=problems(403))
def delete(comment_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Delete a comment and its replies: its author, the video's owner or a moderator."""
    services.social.comments.delete(comment_id, viewer_of(principal))
    return Response(status_code=204)


@router.post("/comments/{comment_id}/approve", response_model=CommentOut, responses=problems(403))
def approve(comment_id: Id, principal: PrincipalDep, services: ServicesDep) -> CommentOut:
    """Show a held comment: the video's owner or a moderator."""
    return services.social.comments.approve(comment_id, viewer_of(principal))
