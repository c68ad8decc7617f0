"""Social Flow: pipelines.

Pure media work on local files with PyAV: probe an upload, plan a per-title bitrate ladder,
transcode every rung in one decoding pass, package CMAF segments with HLS and DASH manifests,
and cut thumbnails and storyboards. No HTTP, no database, no job queue.
"""

from pipelines.chunked import Run, plan_runs, transcode_audio, transcode_run, use_chunked, write_manifests
from pipelines.errors import (
    CorruptMedia,
    DurationTooLong,
    EmptyFile,
    EncoderUnavailable,
    FileTooLarge,
    FrameRateTooHigh,
    IncompleteOutput,
    LimitExceeded,
    MediaError,
    NoDecodableStream,
    NotMedia,
    ResolutionTooHigh,
)
from pipelines.ladder import LadderConfig, Rung, build_ladder, pick_h264_encoder
from pipelines.manifests import publish_order
from pipelines.media import AudioInfo, MediaInfo, MediaLimits, VideoInfo
from pipelines.packaging.cmaf import Segment
from pipelines.probe import probe
from pipelines.renditions import Rendition, TranscodeResult
from pipelines.storyboard import Storyboard, StoryboardBuilder, make_storyboard
from pipelines.thumbnails import Thumbnail, ThumbnailPicker, ThumbnailSet, make_thumbnails
from pipelines.transcode import transcode

__all__ = [
    "AudioInfo",
    "CorruptMedia",
    "DurationTooLong",
    "EmptyFile",
    "EncoderUnavailable",
    "FileTooLarge",
    "FrameRateTooHigh",
    "IncompleteOutput",
    "LadderConfig",
    "LimitExceeded",
    "MediaError",
    "MediaInfo",
    "MediaLimits",
    "NoDecodableStream",
    "NotMedia",
    "Rendition",
    "ResolutionTooHigh",
    "Run",
    "Rung",
    "Segment",
    "Storyboard",
    "StoryboardBuilder",
    "Thumbnail",
    "ThumbnailPicker",
    "ThumbnailSet",
    "TranscodeResult",
    "VideoInfo",
    "build_ladder",
    "make_storyboard",
    "make_thumbnails",
    "plan_runs",
    "pick_h264_encoder",
    "probe",
    "publish_order",
    "transcode",
    "transcode_audio",
    "transcode_run",
    "use_chunked",
    "write_manifests",
]
