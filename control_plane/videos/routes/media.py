"""Playback files (playlists, manifests, segments, thumbnails) served from storage with ranges.

On the embedded default this is where players fetch from; in production a CDN sits in front of
it (``SOCIALFLOW_PUBLIC_URL``). Only ready videos are served. A private video's files are served
only under ``/media/videos/{id}/t/{token}/...`` with a valid signed playback token (checked on
every request, playlists and segments alike), and cached no longer than the token lives.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response

from control_plane.core.errors import NotFound
from control_plane.http.clientip import client_ip
from control_plane.http.deps import ServicesDep
from control_plane.http.openapi import problems
from control_plane.http.ranges import blob_response, file_route
from control_plane.moderation.access import Audience, check_watch
from control_plane.services import Services
from control_plane.videos import media_key
from control_plane.videos.models import Video
from control_plane.videos.playback import PlaybackDenied
from storage import InvalidKey

router = APIRouter(prefix="/media", tags=["playback"])

PLAYLIST_SUFFIXES = (".m3u8", ".mpd", ".vtt")
#: The content type of each kind of playback file, by suffix; anything else is octet-stream.
MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}
OCTET_STREAM = "application/octet-stream"


PLAYLIST_MAX_AGE = 10  # seconds
FILE_MAX_AGE = 86400  # seconds


def ready_video(services: Services, video_id: str) -> Video:
    with services.db.session() as session:
        video = session.get(Video, video_id)
        if video is None or video.status != "ready":
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        session.expunge(video)
        return video


def geofence(services: Services, request: Request, video_id: str, *, signed: bool) -> None:
    """451 from a country the video is blocked in; an age-restricted video plays only through
    signed URLs (handed to adults by ``GET /videos/{id}``). The video's facts are cached a few
    seconds, so segment requests cost no query."""
    facts = services.views.facts(video_id)
    if facts is None:
        raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    country = services.geo.country(client_ip(request, services.settings.trusted_proxies))
    check_watch(
        Audience(None, country=country, adult=signed),
        owner_id=facts.owner_id,
        age_restricted=facts.age_restricted,
        blocked_countries=facts.blocked_countries,
        platform_blocked=services.settings.geo_blocked_countries,
    )


def serve(
    services: Services, video_id: str, path: str, request: Request, scope: str, max_age: int
) -> Response:
    try:
        key = media_key(video_id, path)
    except InvalidKey as exc:  # a path that cannot name a file of the video names none
        raise NotFound("No such file of this video.", code="MEDIA_NOT_FOUND") from exc
    age = min(max_age, PLAYLIST_MAX_AGE if path.endswith(PLAYLIST_SUFFIXES) else FILE_MAX_AGE)
    kind = MEDIA_TYPES.get(path[path.rfind(".") :], OCTET_STREAM) if "." in path else OCTET_STREAM
    response = blob_response(
        services.store, key, request, content_type=kind, cache_control=f"{scope}, max-age={age}"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


FILE_TYPES = (*MEDIA_TYPES.values(), OCTET_STREAM)


@file_route(router, "/videos/{video_id}/t/{token}/{path:path}", *FILE_TYPES, responses=problems(403, 451))
def signed_video_file(
    video_id: str, token: str, path: str, request: Request, services: ServicesDep
) -> Response:
    """A file of a video through a signed playback token (any visibility)."""
    expires = services.playback.check(token, video_id)
    ready_video(services, video_id)
    geofence(services, request, video_id, signed=True)
    return serve(services, video_id, path, request, "private", max(0, expires - int(time.time())))


@file_route(router, "/videos/{video_id}/{path:path}", *FILE_TYPES, responses=problems(403, 451))
def video_file(video_id: str, path: str, request: Request, services: ServicesDep) -> Response:
    """A file of a public or unlisted video."""
    video = ready_video(services, video_id)
    if video.visibility in ("private", "members"):
        raise PlaybackDenied(
            f"This video is {video.visibility}-only: play it through a signed playback URL."
            if video.visibility == "members"
            else "This video is private: play it through a signed playback URL.",
            code="PLAYBACK_TOKEN_REQUIRED",
        )
    geofence(services, request, video_id, signed=False)
    return serve(services, video_id, path, request, "public", FILE_MAX_AGE)
