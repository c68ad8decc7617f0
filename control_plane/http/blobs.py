"""Signed blob URLs on the embedded default, where the control plane stands in for S3."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from control_plane.core.errors import NotFound
from control_plane.http.deps import ServicesDep
from control_plane.http.openapi import problems
from control_plane.http.ranges import blob_response, file_route
from storage import verify_signature

router = APIRouter(tags=["blobs"])


@file_route(router, "/blobs/{key:path}", "application/octet-stream", "*/*", responses=problems(403))
def get_blob(
    key: str,
    request: Request,
    services: ServicesDep,
    expires: str = Query(max_length=20),
    signature: str = Query(max_length=128),
) -> Response:
    """A blob by a URL the platform signed; range requests honoured. Forged or expired: 403."""
    if services.settings.storage_url and not services.settings.storage_url.startswith("file:"):
        raise NotFound("Blobs are served by the object store in this deployment.", code="BLOB_NOT_FOUND")
    verify_signature(services.settings.secret_bytes, key, expires, signature)
    return blob_response(services.store, key, request)
