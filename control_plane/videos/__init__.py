"""The video domain: a video's lifecycle and the layout of its files in the blob store."""

from control_plane.videos.keys import media_key, media_prefix
from control_plane.videos.service import Access, Hold, JobLedger, VideoGone, VideoService, VideoSource

__all__ = [
    "Access",
    "Hold",
    "JobLedger",
    "VideoGone",
    "VideoService",
    "VideoSource",
    "media_key",
    "media_prefix",
]
