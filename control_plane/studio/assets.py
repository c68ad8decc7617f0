"""The studio's built files, read from the package: a fixed table of what may be served.

Only the files found under ``static/`` at first use are ever served (no path from a request
touches the file system). Each file is kept in memory with its gzip form, which is sent to
clients that accept it: the whole app is a few hundred kilobytes.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["Asset", "assets", "INDEX"]

INDEX = "index.html"
#: Types that gain from gzip; pictures and fonts are compressed already.
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml", "application/manifest")
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    """One built file: its bytes, gzip form (None when not worth it), type and entity tag."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    if not folder.is_dir():
        return found
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.name.startswith("."):  # the build's manifest (.vite/) is for tests, not for clients
            continue
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif entry.is_file():
            found[name] = entry
    return found


def _media_type(name: str) -> str:
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@cache
def assets() -> dict[str, Asset]:
    """Relative path (``assets/index-abc.js``) -> the file, for every file the package ships."""
    table: dict[str, Asset] = {}
    for name, entry in _walk(resources.files("control_plane.studio").joinpath("static")).items():
        body = entry.read_bytes()
        media_type = _media_type(name)
        packed = None
        if media_type.startswith(COMPRESSIBLE) and len(body) > 512:
            packed = gzip.compress(body, compresslevel=9, mtime=0)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        table[name] = Asset(body, packed, media_type, etag)
    return table
