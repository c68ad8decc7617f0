"""Serving blobs over HTTP with single byte-range requests (RFC 9110 section 14), to GET and HEAD."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from control_plane.core.errors import ProblemError
from control_plane.http.openapi import answers, problems
from storage import BlobStore

__all__ = ["RangeNotSatisfiable", "parse_range", "blob_response", "file_route"]

F = TypeVar("F", bound=Callable[..., Any])
#: What every file route's document says of its headers (a HEAD answer has them and no body).
FILE_HEADERS = {
    "Content-Length": {"schema": {"type": "integer"}, "description": "bytes of the file (or the range)"},
    "Accept-Ranges": {"schema": {"type": "string", "enum": ["bytes"]}},
}


def file_route(router: APIRouter, path: str, *media_types: str, **kwargs: Any) -> Callable[[F], F]:
    """Register the decorated endpoint at ``path`` for GET and for HEAD (players and CDNs send HEAD
    to learn a file's size and type first), as two operations of the document, each answering
    200 or 206 with a body of one of ``media_types`` (no body for HEAD), 416 for a range outside it."""

    def register(endpoint: F) -> F:
        responses = {
            **answers(200, *media_types, description="The file", headers=FILE_HEADERS),
            **answers(206, *media_types, description="The requested range", headers=FILE_HEADERS),
            **problems(416),
            **kwargs.pop("responses", {}),
        }
        for method in ("GET", "HEAD"):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                name=endpoint.__name__ + ("_head" if method == "HEAD" else ""),
                response_class=StreamingResponse,
                responses=responses,
                **kwargs,
            )
        return endpoint

    return register


_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ProblemError):
    status, code, title = 416, "RANGE_NOT_SATISFIABLE", "Range not satisfiable"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(offset, length) for a ``Range`` header against a blob of ``size`` bytes; None = whole blob.

    Multi-range requests and unknown units are answered with the whole blob, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(
                f"empty suffix range of a {size}-byte resource", headers={"Content-Range": f"bytes */{size}"}
            )
        start = max(size - suffix, 0)
        return start, size - start
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            f"range {header!r} is outside the {size}-byte resource",
            headers={"Content-Range": f"bytes */{size}"},
        )
    end = min(end, size - 1)
    return start, end - start + 1


def blob_response(
    store: BlobStore,
    key: str,
    request: Request,
    *,
    content_type: str | None = None,
    cache_control: str = "private, max-age=0",
) -> Response:
    """Stream a blob, honouring ``Range``; to HEAD, the same status and headers without opening the
    blob. Raises the store's BlobNotFound for a missing key."""
    info = store.stat(key)
    media_type = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": cache_control}
    if info.etag:
        headers["ETag"] = f'"{info.etag.strip(chr(34))}"'
    byte_range = parse_range(request.headers.get("range"), info.size)
    head = request.method == "HEAD"
    if byte_range is None:
        headers["Content-Length"] = str(info.size)
        if head:
            return Response(status_code=200, media_type=media_type, headers=headers)
        body = store.open(key) if info.size else iter(())
        return StreamingResponse(iterate_in_threadpool(body), media_type=media_type, headers=headers)
    offset, length = byte_range
    headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{info.size}"
    headers["Content-Length"] = str(length)
    if head:
        return Response(status_code=206, media_type=media_type, headers=headers)
    return StreamingResponse(
        iterate_in_threadpool(store.open(key, offset, length)),
        status_code=206,
        media_type=media_type,
        headers=headers,
    )
