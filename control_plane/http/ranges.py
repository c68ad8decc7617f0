"""Serving blobs over HTTP with single byte-range requests (RFC 9110 section 14)."""

from __future__ import annotations

import mimetypes
import re

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from control_plane.core.errors import ProblemError
from storage import BlobStore

__all__ = ["RangeNotSatisfiable", "parse_range", "blob_response"]

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
) -> StreamingResponse:
    """Stream a blob, honouring ``Range``. Raises the store's BlobNotFound for a missing key."""
    info = store.stat(key)
    media_type = content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": cache_control}
    if info.etag:
        headers["ETag"] = f'"{info.etag.strip(chr(34))}"'
    byte_range = parse_range(request.headers.get("range"), info.size)
    if byte_range is None:
        headers["Content-Length"] = str(info.size)
        body = store.open(key) if info.size else iter(())
        return StreamingResponse(iterate_in_threadpool(body), media_type=media_type, headers=headers)
    offset, length = byte_range
    headers["Content-Range"] = f"bytes {offset}-{offset + length - 1}/{info.size}"
    headers["Content-Length"] = str(length)
    return StreamingResponse(
        iterate_in_threadpool(store.open(key, offset, length)),
        status_code=206,
        media_type=media_type,
        headers=headers,
    )
