"""Social Flow: pipelines.

Pure media work on local files with PyAV: probe an upload, plan a per-title bitrate ladder,
transcode every rung in one decoding pass, package CMAF segments with HLS and DASH manifests,
and cut thumbnails and storyboards. No HTTP, no database, no job queue.
"""

from pipelines.errors import (
    CorruptMedia,
    DurationTooLong,
    EmptyFile,
    EncoderUnavailable,
    FileTooLarge,
    FrameRateTooHigh,
    LimitExceeded,
    MediaError,
    NoDecodableStream,
    NotMedia,
    ResolutionTooHigh,
)
from pipelines.media import AudioInfo, MediaInfo, MediaLimits, VideoInfo
from pipelines.probe import probe

__all__ = [
    "AudioInfo",
    "CorruptMedia",
    "DurationTooLong",
    "EmptyFile",
    "EncoderUnavailable",
    "FileTooLarge",
    "FrameRateTooHigh",
    "LimitExceeded",
    "MediaError",
    "MediaInfo",
    "MediaLimits",
    "NoDecodableStream",
    "NotMedia",
    "ResolutionTooHigh",
    "VideoInfo",
    "probe",
]
