"""One decoding pass over an input: frames of the chosen streams, on a clock starting at 0.

Times are seconds from the input's origin (the video stream's start time, or the audio's for
audio-only inputs), so the single pass and every chunked run agree on what "t = 12.0" means. A
decode error near the readable end (a cut-off tail the probe already reported) ends that
stream quietly; anywhere else it raises :class:`CorruptMedia`. The video decoder refuses a
picture with more pixels than the default limits allow or the probe saw, whichever is more, so
a frame the probe did not decode cannot cost more memory than the limits meant to allow. An
error raised by a file object's own ``read`` (a blob store that failed) propagates unchanged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator

import av
import av.error
from av.container import InputContainer
from av.stream import Stream

from pipelines.errors import CorruptMedia, format_clock
from pipelines.limits import decoder_options, pixel_budget
from pipelines.media import MediaInfo, MediaInput, MediaLimits

__all__ = ["decode_frames", "open_input"]

log = logging.getLogger(__name__)

_TAIL_SLACK = 0.5


def open_input(src: MediaInput, *, options: dict[str, str] | None = None) -> InputContainer:
    """Open ``src`` for demuxing (``options`` for FFmpeg, e.g. the decoders' picture bound); a file
    object is first rewound, so every opening reads it whole."""
    if isinstance(src, str | os.PathLike):
        return av.open(os.fspath(src), metadata_errors="ignore", options=options)
    src.seek(0)
    return av.open(src, "r", metadata_errors="ignore", options=options)


def decode_frames(
    src: MediaInput, info: MediaInfo, *, video: bool = True, audio: bool = True, start: float = 0.0
) -> Generator[tuple[float, av.VideoFrame | av.AudioFrame], None, None]:
    """Yield ``(time, frame)`` in decode order for the video and/or audio stream of ``info``.

    With ``start`` > 0 the input is first seeked to the keyframe at or before ``start``
    seconds, so early frames may precede ``start``: callers drop what they do not need.
    """
    bounded = decoder_options(_frame_budget(info))
    with open_input(src, options=bounded) as container:
        anchor = info.video or info.audio
        origin = _start(container.streams[anchor.stream_index]) if anchor is not None else 0.0
        wanted: list[Stream] = []
        if video and info.video is not None:
            wanted.append(container.streams[info.video.stream_index])
        if audio and info.audio is not None:
            wanted.append(container.streams[info.audio.stream_index])
        if not wanted:
            return
        for stream in wanted:
            if stream.codec_context is not None:
                stream.codec_context.thread_type = "AUTO"
        if video and info.video is not None and wanted[0].codec_context is not None:
            wanted[0].codec_context.options = bounded
        if start > 0:
            try:
                container.seek(int((start + origin) * 1e6), backward=True, any_frame=False)
            except av.error.FFmpegError as exc:  # unseekable input: decode from the top
                log.info("cannot seek %s (%s); decoding from the start", src, exc)
        yield from _frames(container, wanted, info, origin)


def _frames(
    container: InputContainer, wanted: list[Stream], info: MediaInfo, origin: float
) -> Generator[tuple[float, av.VideoFrame | av.AudioFrame], None, None]:
    ended: set[int] = set()
    packets = container.demux(wanted)
    last = 0.0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            _damage_unless_tail(last, info, exc)
            return
        index = packet.stream.index
        if index in ended:
            continue
        when = float(packet.pts * packet.time_base) - origin if packet.pts is not None else last
        last = max(last, when)
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            _damage_unless_tail(when, info, exc)
            log.info("stream %d ends at a damaged tail (%.3f s): %s", index, when, exc)
            ended.add(index)
            continue
        for frame in frames:
            if isinstance(frame, av.VideoFrame | av.AudioFrame) and frame.time is not None:
                yield frame.time - origin, frame


def _damage_unless_tail(when: float, info: MediaInfo, exc: Exception) -> None:
    """A read error near the readable end is the cut-off tail the probe already reported;
    anywhere else the file is damaged."""
    if when < info.duration - _TAIL_SLACK:
        raise CorruptMedia(
            f"The file is damaged around {format_clock(when)}; it cannot be played from there."
        ) from exc


def _frame_budget(info: MediaInfo) -> int | None:
    """Pixels one decoded picture may have: the default limits' area, or the probed picture's."""
    default = pixel_budget(MediaLimits())
    if default is None or info.video is None:
        return default
    return max(default, info.video.width * info.video.height)


def _start(stream: Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
