"""Where a video's files live in the blob store: the one spelling of the video key layout.

``videos/{id}/`` holds everything viewers fetch (playlists, manifests, init and media segments,
thumbnails, the storyboard); the source keeps the key the upload store gave it.
"""

from __future__ import annotations

from storage import validate_key

__all__ = ["media_prefix", "media_key"]


def media_prefix(video_id: str) -> str:
    """The prefix under which a video's playback files are published (ends with ``/``)."""
    return f"videos/{video_id}/"


def media_key(video_id: str, path: str) -> str:
    """The key of one playback file, ``path`` relative to the video's folder.

    Raises ``storage.InvalidKey`` for a path that would leave the folder or is malformed.
    """
    return validate_key(media_prefix(video_id) + path)
