"""Signed blob URLs on the embedded default, where the control plane stands in for S3."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from control_plane.core.errors import NotFound
from control_plane.http.deps import ServicesDep
from control_plane.http.ranges import blob_response
from storage import verify_signature

router = APIRouter(tags=["blobs"])


@router.get("/blobs/{key:path}", include_in_schema=True)
def get_blob(
    key: str,
    request: Request,
    services: ServicesDep,
    expires: str = Query(max_length=20),
    signature: str = Query(max_length=128),
) -> StreamingResponse:
    """A blob by a URL the platform signed; range requests honoured. Forged or expired: 403."""
    if services.settings.storage_url and not services.settings.storage_url.startswith("file:"):
        raise NotFound("Blobs are served by the object store in this deployment.", code="BLOB_NOT_FOUND")
    verify_signature(services.settings.secret_bytes, key, expires, signature)
    return blob_response(services.store, key, request)
