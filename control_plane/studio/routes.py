"""``/studio/``: the app's files, and its page for every other path under it (the app routes
in the browser, so ``/studio/watch/{id}`` opened from a link or a reload gets the same page).

Hashed files under ``assets/`` never change and are cached for a year; the page itself is
revalidated on each load, so a new release is picked up at once. The Content-Security-Policy
lets the app load scripts, styles and pictures from this origin only, talk to the API here and
at the public URL (playback may be served from it), and play media from ``blob:`` URLs (the
players feed Media Source Extensions).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from control_plane.core.errors import NotFound
from control_plane.http.deps import ServicesDep
from control_plane.studio.assets import INDEX, Asset, assets

__all__ = ["router", "STUDIO_PREFIX", "csp"]

STUDIO_PREFIX = "/studio"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

router = APIRouter(prefix=STUDIO_PREFIX, include_in_schema=False)


def csp(public_url: str) -> str:
    """The studio's policy; ``public_url`` (where playback URLs point) is allowed beside 'self'."""
    parts = urlsplit(public_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    socket = ("wss://" if parts.scheme == "https" else "ws://") + parts.netloc
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob: {origin}; media-src 'self' blob: {origin}; "
        f"connect-src 'self' {origin} {socket}; worker-src 'self' blob:; font-src 'self'; "
        "manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def _send(asset: Asset, request: Request, cache: str, policy: str) -> Response:
    headers = {
        "Cache-Control": cache,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "Content-Security-Policy": policy,
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("", response_class=RedirectResponse)
def studio_root() -> RedirectResponse:
    return RedirectResponse(f"{STUDIO_PREFIX}/", status_code=308)


@router.get("/{path:path}")
def studio(path: str, request: Request, services: ServicesDep) -> Response:
    """A built file by its path, or the app's page for any path that names no file."""
    files = assets()
    policy = csp(services.settings.effective_public_url)
    found = files.get(path)
    if found is not None and path != INDEX:
        return _send(found, request, IMMUTABLE if path.startswith("assets/") else REVALIDATE, policy)
    if path.startswith("assets/") or INDEX not in files:
        raise NotFound("No such studio file.", code="STUDIO_FILE_NOT_FOUND")
    return _send(files[INDEX], request, REVALIDATE, policy)
