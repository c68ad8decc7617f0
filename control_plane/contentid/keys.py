"""Where Content-ID keeps its files in the blob store."""

from __future__ import annotations

__all__ = ["fingerprint_key"]


def fingerprint_key(video_id: str) -> str:
    """The stored fingerprint of a video, made once by its first matching or indexing job."""
    return f"fingerprints/{video_id}.fp"
