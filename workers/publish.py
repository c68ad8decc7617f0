"""Publishing a folder of outputs to the blob store so that viewers never see half a video.

Media files go first, then stale keys from an earlier attempt are removed, then the playlists
and manifests, which are what players look for, go last.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from storage import BlobStore

__all__ = ["publish", "upload_files", "MANIFEST_SUFFIXES"]

MANIFEST_SUFFIXES = (".m3u8", ".mpd")
mimetypes.add_type("application/vnd.apple.mpegurl", ".m3u8")
mimetypes.add_type("application/dash+xml", ".mpd")
mimetypes.add_type("video/iso.segment", ".m4s")
mimetypes.add_type("text/vtt", ".vtt")


def publish(
    store: BlobStore,
    root: Path,
    files: Sequence[Path],
    prefix: str,
    *,
    progress: Callable[[float], None] | None = None,
    present: Collection[str] = (),
) -> list[str]:
    """Upload ``files`` (under ``root``) to ``prefix`` + their relative path; returns the keys.

    Re-running with the same outputs rewrites the same keys; keys under ``prefix`` that the new
    set does not contain are deleted before the manifests are written, so no orphan remains.
    Media whose key is in ``present`` (already uploaded by the jobs of a chunked transcode) is
    not sent again.
    """
    prefix = prefix.rstrip("/") + "/"
    media = [f for f in files if f.suffix not in MANIFEST_SUFFIXES]
    manifests = [f for f in files if f.suffix in MANIFEST_SUFFIXES]
    keys = {f: prefix + f.relative_to(root).as_posix() for f in files}
    ordered = media + manifests
    wanted = set(keys.values())
    for done, path in enumerate(media, start=1):
        if keys[path] not in present:
            store.upload(path, keys[path], content_type=mimetypes.guess_type(path.name)[0])
        if progress is not None:
            progress(done / len(ordered))
    for stale in [info.key for info in store.list(prefix) if info.key not in wanted]:
        store.delete(stale)
    for done, path in enumerate(manifests, start=len(media) + 1):
        store.upload(path, keys[path], content_type=mimetypes.guess_type(path.name)[0])
        if progress is not None:
            progress(done / len(ordered))
    return [keys[f] for f in ordered]


def upload_files(store: BlobStore, root: Path, files: Sequence[Path], prefix: str) -> list[str]:
    """Upload media files (one part of a chunked transcode) to ``prefix`` + their relative path."""
    prefix = prefix.rstrip("/") + "/"
    keys = []
    for path in files:
        key = prefix + path.relative_to(root).as_posix()
        store.upload(path, key, content_type=mimetypes.guess_type(path.name)[0])
        keys.append(key)
    return keys
