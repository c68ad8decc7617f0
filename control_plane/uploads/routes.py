"""The tus 1.0.0 upload endpoint: parse and check the protocol's headers, then delegate.

Extensions: creation, creation-with-upload, creation-defer-length, termination, checksum
(sha1, sha256, md5), expiration and concatenation. Bearer auth on everything but OPTIONS.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from control_plane.core.errors import BadRequest
from control_plane.http.deps import PrincipalDep, ServicesDep
from control_plane.http.openapi import problems
from control_plane.uploads.body import ThreadBody
from control_plane.uploads.errors import TusVersionUnsupported, UnsupportedMediaType
from control_plane.uploads.headers import (
    CHECKSUM_ALGORITHMS,
    encode_metadata,
    http_date,
    parse_checksum,
    parse_concat,
    parse_metadata,
)
from control_plane.uploads.service import UploadState

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])

TUS_VERSION = "1.0.0"
EXTENSIONS = (
    "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation"
)
OFFSET_TYPE = "application/offset+octet-stream"


def _header(name: str, description: str, **schema: object) -> dict[str, object]:
    """A required header parameter of the document."""
    return {"name": name, "in": "header", "required": True, "description": description, "schema": schema}


#: The document's tus headers. Only the common forms are parameters; the protocol's others
#: (Upload-Defer-Length, Upload-Concat, Upload-Checksum, Upload-Metadata) are in the descriptions.
TUS_RESUMABLE = _header("Tus-Resumable", "the protocol version", type="string", enum=[TUS_VERSION])
#: Byte counts in headers: what ``_int_header`` reads (19 digits at most) and a 64-bit size holds.
BYTES = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
UPLOAD_LENGTH = _header("Upload-Length", "the whole upload's size in bytes (at most Tus-Max-Size)", **BYTES)
UPLOAD_OFFSET = _header("Upload-Offset", "where this body starts, in bytes", **BYTES)


def document_max_size(max_bytes: int) -> Callable[[dict[str, Any]], None]:
    """A ``describe`` step: the document's Upload-Length says this server's largest upload."""

    def settle(document: dict[str, Any]) -> None:
        parameters = document["paths"][f"{router.prefix}/"]["post"]["parameters"]
        for i, parameter in enumerate(parameters):
            if parameter["name"] == UPLOAD_LENGTH["name"]:  # a copy: the constant is shared by apps
                parameters[i] = {**parameter, "schema": {**parameter["schema"], "maximum": max_bytes}}

    return settle


#: A PATCH body: the next bytes of the upload.
CHUNK_BODY = {
    "required": True,
    "content": {OFFSET_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}
#: What every tus request may answer beyond its route's own problems.
TUS_PROBLEMS = problems(412, s412="Tus-Resumable is missing or not 1.0.0")


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusVersionUnsupported("Send 'Tus-Resumable: 1.0.0'; this server speaks tus 1.0.0.")


def _int_header(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 19:
        raise BadRequest(f"{name} must be a non-negative integer.", code="INVALID_HEADER")
    return int(value)


def _location(upload_id: str) -> str:
    return f"{router.prefix}/{upload_id}"


def _state_headers(state: UploadState) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset), "Cache-Control": "no-store"}
    if state.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(state.length)
    if state.expires_at is not None:
        headers["Upload-Expires"] = http_date(state.expires_at)
    if state.is_partial:
        headers["Upload-Concat"] = "partial"
    elif state.is_final:
        headers["Upload-Concat"] = "final;" + " ".join(_location(p) for p in state.parts)
    return headers


@router.options("", status_code=204, include_in_schema=False)
@router.options("/", status_code=204, response_class=Response)
@router.options("/{upload_id}", status_code=204, include_in_schema=False)
def options(services: ServicesDep) -> Response:
    """What this tus server supports. No authentication, so browsers can discover it."""
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(services.settings.upload_max_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        },
    )


@router.post("", status_code=201, include_in_schema=False)
@router.post(
    "/",
    status_code=201,
    response_class=Response,
    responses={
        **TUS_PROBLEMS,
        **problems(400, 409, 413, 429, s429="Too many requests, or too many uploads in progress"),
    },
    openapi_extra={"parameters": [TUS_RESUMABLE, UPLOAD_LENGTH]},
)
async def create(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Create an upload (creation, defer-length, concatenation), optionally with its first bytes.

    ``Upload-Defer-Length: 1`` instead of ``Upload-Length`` defers the size; ``Upload-Metadata``
    carries ``filename`` and ``title`` (base64, as tus says); ``Upload-Concat: partial`` or
    ``final;<urls>`` concatenates. ``Location`` names the upload; its id is the video's id."""
    _require_tus(request)
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    concat = parse_concat(request.headers.get("upload-concat"))
    owner = principal.user.id
    uploads = services.uploads
    if concat is not None and concat[0] == "final":
        state = await anyio.to_thread.run_sync(
            functools.partial(uploads.concatenate, owner, concat[1], metadata)
        )
        return Response(status_code=201, headers={"Location": _location(state.id), **_state_headers(state)})
    length = _int_header(request, "upload-length")
    defer = request.headers.get("upload-defer-length")
    if length is None and defer != "1":
        raise BadRequest("Send Upload-Length, or Upload-Defer-Length: 1.", code="LENGTH_REQUIRED")
    if length is not None and defer is not None:
        raise BadRequest("Send either Upload-Length or Upload-Defer-Length, not both.", code="INVALID_HEADER")
    state = await anyio.to_thread.run_sync(
        functools.partial(uploads.create, owner, length=length, metadata=metadata, partial=concat is not None)
    )
    headers = {"Location": _location(state.id), **_state_headers(state)}
    content_length = _int_header(request, "content-length")
    if request.headers.get("content-type", "").split(";")[0].strip() == OFFSET_TYPE and content_length != 0:
        state = await _write(request, services, principal.user.id, state.id, 0, content_length)
        headers.update(_state_headers(state))
    return Response(status_code=201, headers=headers)


@router.head(
    "/{upload_id}",
    response_class=Response,
    responses={**TUS_PROBLEMS, **problems(410)},
    openapi_extra={"parameters": [TUS_RESUMABLE]},
)
async def head(upload_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Where the upload stands: its durable offset, length, metadata and expiry."""
    _require_tus(request)
    state = await anyio.to_thread.run_sync(services.uploads.head, principal.user.id, upload_id)
    headers = _state_headers(state)
    if state.metadata:
        headers["Upload-Metadata"] = encode_metadata(state.metadata)
    return Response(status_code=200, headers=headers)


async def _write(
    request: Request,
    services: ServicesDep,
    owner: str,
    upload_id: str,
    offset: int,
    content_length: int | None,
) -> UploadState:
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    body = ThreadBody(request.stream(), limit=services.settings.upload_max_bytes)
    pump = asyncio.create_task(body.pump())  # reads ahead while the thread writes
    try:
        return await anyio.to_thread.run_sync(
            functools.partial(
                services.uploads.write,
                owner,
                upload_id,
                offset,
                body,
                checksum=checksum,
                declared_length=_int_header(request, "upload-length"),
                content_length=content_length,
            )
        )
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


@router.patch(
    "/{upload_id}",
    status_code=204,
    response_class=Response,
    responses={**TUS_PROBLEMS, **problems(400, 403, 409, 410, 413, 415, 423, 460)},
    openapi_extra={"parameters": [TUS_RESUMABLE, UPLOAD_OFFSET], "requestBody": CHUNK_BODY},
)
async def patch(upload_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    """Append the body at Upload-Offset. The offset in the answer is durable."""
    _require_tus(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_TYPE:
        raise UnsupportedMediaType(f"PATCH bodies must be sent as {OFFSET_TYPE}.")
    offset = _int_header(request, "upload-offset")
    if offset is None:
        raise BadRequest("Upload-Offset is required.", code="INVALID_HEADER")
    state = await _write(
        request, services, principal.user.id, upload_id, offset, _int_header(request, "content-length")
    )
    headers = {"Upload-Offset": str(state.offset)}
    if state.expires_at is not None:
        headers["Upload-Expires"] = http_date(state.expires_at)
    return Response(status_code=204, headers=headers)


@router.delete(
    "/{upload_id}",
    status_code=204,
    response_class=Response,
    responses={**TUS_PROBLEMS, **problems(403, 423)},
    openapi_extra={"parameters": [TUS_RESUMABLE]},
)
async def terminate(
    upload_id: str, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Cancel an unfinished upload and delete what it stored."""
    _require_tus(request)
    await anyio.to_thread.run_sync(services.uploads.terminate, principal.user.id, upload_id)
    return Response(status_code=204)
