"""Playback files (playlists, manifests, segments, thumbnails) served from storage with ranges.

On the embedded default this is where players fetch from; in production a CDN sits in front of
it (``SOCIALFLOW_PUBLIC_URL``). Only ready videos are served.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from control_plane.deps import ServicesDep
from control_plane.errors import NotFound
from control_plane.models import Video
from control_plane.ranges import blob_response
from storage import validate_key

router = APIRouter(prefix="/media", tags=["playback"])

PLAYLIST_SUFFIXES = (".m3u8", ".mpd", ".vtt")


@router.get("/videos/{video_id}/{path:path}")
def video_file(video_id: str, path: str, request: Request, services: ServicesDep) -> StreamingResponse:
    with services.db.session() as session:
        video = session.get(Video, video_id)
        if video is None or video.status != "ready":
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    key = validate_key(f"videos/{video_id}/{path}")
    cache = "public, max-age=10" if path.endswith(PLAYLIST_SUFFIXES) else "public, max-age=86400"
    response = blob_response(services.store, key, request, cache_control=cache)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
