"""Likes of posts, videos and comments: ``PUT`` likes, ``DELETE`` unlikes, both idempotent."""

from __future__ import annotations

from fastapi import APIRouter, Response

from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import problems
from control_plane.social.routes import Id, viewer_of

router = APIRouter(prefix="/api/v1", tags=["likes"])


@router.put("/posts/{post_id}/like", status_code=204, response_class=Response, responses=problems(403))
def like_post(post_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.likes.post(viewer_of(principal), post_id, True)
    return Response(status_code=204)


@router.delete("/posts/{post_id}/like", status_code=204, response_class=Response)
def unlike_post(post_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.likes.post(viewer_of(principal), post_id, False)
    return Response(status_code=204)


@router.put("/videos/{video_id}/like", status_code=204, response_class=Response, responses=problems(403))
def like_video(video_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.likes.video(viewer_of(principal), video_id, True)
    return Response(status_code=204)


@router.delete("/videos/{video_id}/like", status_code=204, response_class=Response)
def unlike_video(video_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.likes.video(viewer_of(principal), video_id, False)
    return Response(status_code=204)


@router.put("/comments/{comment_id}/like", status_code=204, response_class=Response, responses=problems(403))
def like_comment(comment_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.likes.comment(viewer_of(principal), comment_id, True)
    return Response(status_code=204)


@router.delete("/comments/{comment_id}/like", status_code=204, response_class=Response)
def unlike_comment(comment_id: Id, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.social.likes.comment(viewer_of(principal), comment_id, False)
    return Response(status_code=204)
