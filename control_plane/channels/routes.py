"""Channels: public profiles, editing one's own, the avatar, and closing the account.

Profiles and avatar files answer anyone; everything under ``/users/me`` needs the user's token.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from control_plane.accounts.routes.twofactor import StepUpIn
from control_plane.channels.avatar import MAX_AVATAR_BYTES, SIZES, ImageTooLarge
from control_plane.channels.cards import avatar_key, avatar_urls
from control_plane.channels.service import MAX_BIO, MAX_DISPLAY_NAME, Profile
from control_plane.core.errors import NotFound
from control_plane.core.ratelimit import Limit
from control_plane.http.clientip import client_ip
from control_plane.http.deps import PrincipalDep, ServicesDep, ViewerDep
from control_plane.http.ranges import blob_response
from control_plane.services import Services

router = APIRouter(prefix="/api/v1", tags=["channels"])
files = APIRouter(prefix="/media/avatars", tags=["playback"])

#: The avatar upload path; its body is read here, bounded by ``MAX_AVATAR_BYTES``.
AVATAR_PATH = "/api/v1/users/me/avatar"
PROFILE_EDITS = Limit("profile_edit", 60, 3600.0)
AVATAR_CHANGES = Limit("avatar_change", 20, 3600.0)
#: Each try costs a password check, so few: it is also a password guess.
ACCOUNT_CLOSES = Limit("account_close", 5, 3600.0)
AVATAR_FILE = re.compile(r"^(\d+)\.webp$")
IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary", "maxLength": MAX_AVATAR_BYTES}}
            for kind in ("image/jpeg", "image/png", "image/webp", "image/gif")
        },
    }
}


class ProfileOut(BaseModel):
    id: str
    username: str
    display_name: str
    bio: str
    avatar: str | None = Field(description="URL of the 400 px square avatar, or null")
    avatars: dict[str, str] = Field(description="the avatar's URL at each size in pixels (48, 128, 400)")
    created_at: datetime
    followers: int
    following: int
    videos: int = Field(description="public videos that are ready")
    posts: int
    is_following: bool | None = Field(None, description="for a signed-in caller: do they follow this channel")
    is_blocked: bool | None = Field(None, description="for a signed-in caller: did they block this channel")


class ProfilePatch(BaseModel):
    display_name: str | None = Field(None, max_length=MAX_DISPLAY_NAME, description="null: the username")
    bio: str | None = Field(None, max_length=MAX_BIO, description="plain text, never rendered as HTML")


def profile_out(services: Services, profile: Profile) -> ProfileOut:
    avatars = avatar_urls(services.settings.effective_public_url, profile.id, profile.avatar, SIZES)
    return ProfileOut(
        id=profile.id,
        username=profile.username,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar=avatars.get(str(SIZES[-1])),
        avatars=avatars,
        created_at=profile.created_at,
        followers=profile.followers,
        following=profile.following,
        videos=profile.videos,
        posts=profile.posts,
        is_following=profile.relations.get("is_following"),
        is_blocked=profile.relations.get("is_blocked"),
    )


@router.get("/users/{username}", response_model=ProfileOut)
def get_profile(
    username: Annotated[str, Path(max_length=64)], viewer: ViewerDep, services: ServicesDep
) -> ProfileOut:
    """A channel's public profile; a signed-in caller also learns what they are to it."""
    profile = services.channels.profile(username, viewer_id=viewer.user.id if viewer else None)
    return profile_out(services, profile)


@router.patch("/users/me", response_model=ProfileOut)
def edit_profile(body: ProfilePatch, principal: PrincipalDep, services: ServicesDep) -> ProfileOut:
    """Change the display name or the bio (fields left out stay; null clears)."""
    services.limiter.hit(PROFILE_EDITS, principal.user.id)
    services.channels.edit(principal.user.id, body.model_dump(exclude_unset=True))
    return profile_out(services, services.channels.profile(principal.user.username))


@router.put("/users/me/avatar", response_model=ProfileOut, openapi_extra=IMAGE_BODY)
async def put_avatar(request: Request, principal: PrincipalDep, services: ServicesDep) -> ProfileOut:
    """Upload a JPEG, PNG, WebP or GIF picture (at most 8 MiB and 40 megapixels) as the body. It
    is decoded and re-encoded at 48, 128 and 400 px squares; nothing else of the file is kept.
    Anything else answers 415."""
    await run_in_threadpool(services.limiter.hit, AVATAR_CHANGES, principal.user.id)
    data = await bounded_body(request, MAX_AVATAR_BYTES)
    await run_in_threadpool(services.channels.set_avatar, principal.user.id, data)
    profile = await run_in_threadpool(services.channels.profile, principal.user.username)
    return profile_out(services, profile)


@router.delete("/users/me/avatar", status_code=204, response_class=Response)
def delete_avatar(principal: PrincipalDep, services: ServicesDep) -> Response:
    """Back to no avatar; its files are deleted."""
    services.limiter.hit(AVATAR_CHANGES, principal.user.id)
    services.channels.remove_avatar(principal.user.id)
    return Response(status_code=204)


@router.delete("/users/me", status_code=204, response_class=Response)
def close_account(
    body: StepUpIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Close the account for good: the password (and the second factor, if on) again. Every
    video, upload, live stream, reference and picture of it is removed, files included; its
    tokens stop working at once. A stream that is live must be ended first (409)."""
    services.limiter.hit(ACCOUNT_CLOSES, principal.user.id)
    services.closer.close(
        principal.user.id,
        body.password,
        otp=body.otp,
        recovery_code=body.recovery_code,
        ip=client_ip(request, services.settings.trusted_proxies),
    )
    return Response(status_code=204)


@files.get("/{user_id}/{version}/{name}")
def avatar_file(
    user_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    version: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    name: Annotated[str, Path(max_length=16)],
    request: Request,
    services: ServicesDep,
) -> Response:
    """An avatar picture. Its URL changes with every new avatar, so it is cached for good."""
    found = AVATAR_FILE.match(name)
    if found is None or int(found.group(1)) not in SIZES:
        raise NotFound("No such avatar.", code="AVATAR_NOT_FOUND")
    return blob_response(
        services.store,
        avatar_key(user_id, version, int(found.group(1))),
        request,
        content_type="image/webp",
        cache_control="public, max-age=31536000, immutable",
    )


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ImageTooLarge(f"An avatar has at most {limit // (1024 * 1024)} MiB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ImageTooLarge(f"An avatar has at most {limit // (1024 * 1024)} MiB.")
        chunks.append(chunk)
    return b"".join(chunks)
