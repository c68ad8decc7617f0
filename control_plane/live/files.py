"""Where a stream's live playback files sit in the blob store, and the content type of each."""

from __future__ import annotations

__all__ = ["hls_prefix", "stream_prefix", "content_type", "CONTENT_TYPES"]

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
}


def stream_prefix(stream_id: str) -> str:
    """The folder of everything a stream keeps in the blob store: playback files, recordings."""
    return f"live/{stream_id}/"


def hls_prefix(stream_id: str) -> str:
    """The storage prefix of a stream's live playlists, init segment, segments and parts."""
    return f"{stream_prefix(stream_id)}hls/"


def content_type(name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return CONTENT_TYPES.get(suffix, "application/octet-stream")
