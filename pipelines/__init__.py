"""Social Flow: pipelines.

Pure media work on local files with PyAV: probe an upload, plan a per-title bitrate ladder,
transcode every rung in one decoding pass, package CMAF segments with HLS and DASH manifests,
and cut thumbnails and storyboards. No HTTP, no database, no job queue.

A worker's whole job, in one decoding pass::

    info = probe(upload, limits)                     # MediaError subclasses for bad input
    ladder = build_ladder(info, LadderConfig(encoder=pick_h264_encoder()))
    picker, board = ThumbnailPicker(info, out), StoryboardBuilder(info, out)
    result = transcode(upload, out, ladder, info=info, progress=report, frame_sinks=[picker, board])
    thumbnails, storyboard = picker.finish(), board.finish()
    for path in publish_order(out):                  # media first, manifests last
        upload_to_storage(path)

(``ThumbnailPicker``/``StoryboardBuilder`` need a video track: skip them when
``info.is_audio_only``.) Long videos can instead be split with :func:`plan_runs` into
:func:`transcode_run` jobs plus one :func:`transcode_audio` job, then :func:`write_manifests`.
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
