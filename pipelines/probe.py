"""Probing: open an input, DECODE a few frames, and say what it is or what is wrong with it.

Reading headers alone cannot tell a renamed text file, random bytes, a file cut off during
upload and a file broken in the middle apart, so :func:`probe` demuxes every packet (cheap: no
decoding) to learn where the readable data really ends, and decodes a few frames at the start
and at a quarter, half and three quarters of the file. A cut-off tail is salvaged when at least
``MIN_SALVAGE_SECONDS`` are readable: the result then reports the readable duration and says so
in ``warnings``.

Limits come before decoding: the declared picture size, frame rate and duration are checked
from the headers alone (:mod:`pipelines.declared`), the readable duration right after the packet
survey, and every decoder is opened with a pixel budget (``max_pixels``), so a file that lies in
its headers fails to decode instead of allocating a picture larger than the limits allow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Stream
from av.video.stream import VideoStream

from pipelines.declared import check_declared, open_without_decoders, read_declared
from pipelines.errors import CorruptMedia, EmptyFile, FileTooLarge, NoDecodableStream, NotMedia, format_clock
from pipelines.limits import check_duration, check_frame_rate, check_picture, decoder_options, pixel_budget
from pipelines.media import AudioInfo, MediaInfo, MediaInput, MediaLimits, VideoInfo
from pipelines.survey import DecodeWindow, PacketSurvey, decode_window, sniff_kind, survey_packets

__all__ = ["MediaLimits", "MediaInfo", "probe", "known_or_probed", "MIN_SALVAGE_SECONDS"]

log = logging.getLogger(__name__)

MIN_SALVAGE_SECONDS = 1.0
"""A cut-off file with less readable media than this (seconds) is refused, not salvaged."""

_CHECKPOINTS = (0.25, 0.5, 0.75)
"""Shares of the duration where a few frames are decoded to find damage in the middle."""

_TAIL_SLACK = 0.5
"""Seconds of missing tail ignored (container durations are often rounded)."""


def probe(path: str | os.PathLike[str], limits: MediaLimits | None = None) -> MediaInfo:
    """Describe the media file at ``path`` and check it against ``limits``.

    Raises :class:`EmptyFile`, :class:`NotMedia`, :class:`NoDecodableStream`,
    :class:`CorruptMedia` or a :class:`LimitExceeded` subclass, each with a message for the
    creator; a missing path raises :class:`FileNotFoundError` (a server-side problem).
    """
    limits = limits or MediaLimits()
    file = Path(path)
    size = file.stat().st_size
    if size == 0:
        raise EmptyFile()
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise FileTooLarge(f"The file is {size / 1e9:.1f} GB; the limit is {limits.max_bytes / 1e9:.1f} GB.")
    with _open(file, lambda: open_without_decoders(file)) as headers:
        declared = read_declared(headers)
    if declared.format_name == "image2" or declared.format_name.endswith("_pipe"):
        raise NotMedia("This file is a still picture, not a video or audio file.")
    check_declared(declared, limits)
    options = decoder_options(pixel_budget(limits))
    with _open(file, lambda: av.open(str(file), metadata_errors="ignore", options=options)) as container:
        info = _inspect(container, str(file), size, limits)
    _check_limits(info, limits)
    return info


def _open(file: Path, opener: Callable[[], InputContainer]) -> InputContainer:
    """``opener()``, with an FFmpeg refusal told apart as text, a damaged file or not media."""
    try:
        return opener()
    except av.error.FFmpegError as exc:
        kind = sniff_kind(file)
        if kind == "text":
            raise NotMedia("This file is text, not a video or audio file.") from exc
        if kind is not None:
            raise CorruptMedia(
                f"The file looks like {kind} but it is cut off or damaged, so it cannot be read."
            ) from exc
        raise NotMedia() from exc


def known_or_probed(src: MediaInput, info: MediaInfo | None, limits: MediaLimits | None = None) -> MediaInfo:
    """``info`` when the caller has it, else :func:`probe` of the path ``src``. Probing needs a
    path: a file object without its ``info`` raises ``TypeError``."""
    if info is not None:
        return info
    if not isinstance(src, str | os.PathLike):
        raise TypeError("a file object to read must come with its probe (info)")
    return probe(src, limits)


def _inspect(container: InputContainer, path: str, size: int, limits: MediaLimits) -> MediaInfo:
    video_stream = next(
        (s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic),
        None,
    )
    audio_stream = container.streams.audio[0] if container.streams.audio else None
    streams: list[Stream] = [s for s in (video_stream, audio_stream) if s is not None]
    if not streams:
        raise NotMedia("This file has no video or audio in it.")
    survey = survey_packets(container, streams)
    if survey.packets == 0:
        if survey.untimed:
            raise NoDecodableStream(
                "This is a raw stream without timing; upload it inside a container such as MP4 or MKV."
            )
        raise NoDecodableStream()
    header_duration = container.duration / 1e6 if container.duration else 0.0
    readable = survey.end - survey.start
    warnings: list[str] = []
    if header_duration and readable < header_duration - _TAIL_SLACK:
        if readable < MIN_SALVAGE_SECONDS:
            raise CorruptMedia(
                f"The file is cut off after {format_clock(readable)}; too little is left to use."
            )
        warnings.append(f"The file is cut off after {format_clock(readable)}; we kept what we could read.")
    check_duration(readable, limits, "video" if video_stream is not None else "audio")
    if video_stream is not None and video_stream.codec_context is not None:
        video_stream.codec_context.options = decoder_options(pixel_budget(limits))
    start = decode_window(container, streams, survey, 0.0)
    if readable > 2.0:
        for share in _CHECKPOINTS:
            decode_window(container, streams, survey, survey.start + readable * share)
    decoded = start.first_frames
    video = audio = None
    if video_stream is not None and video_stream.index in decoded:
        video = _video_info(video_stream, start, survey)
    if audio_stream is not None and audio_stream.index in decoded:
        audio = _audio_info(audio_stream)
    if video is None and audio is None:
        raise NoDecodableStream()
    if video_stream is not None and video is None:
        warnings.append("The video track could not be read; we kept the sound only.")
    if audio_stream is not None and audio is None:
        warnings.append("The sound track could not be read; the video will be silent.")
    return MediaInfo(
        path=path,
        format_name=container.format.name,
        size=size,
        duration=round(readable, 6),
        video=video,
        audio=audio,
        warnings=warnings,
    )


def _video_info(stream: VideoStream, start: DecodeWindow, survey: PacketSurvey) -> VideoInfo:
    frame = start.first_frames[stream.index]
    assert isinstance(frame, av.VideoFrame)
    ctx = stream.codec_context
    sar = ctx.sample_aspect_ratio or stream.sample_aspect_ratio or Fraction(1)
    if sar <= 0:
        sar = Fraction(1)
    rotation = int(round(frame.rotation)) % 360
    rotation = min((0, 90, 180, 270, 360), key=lambda r: abs(r - rotation)) % 360
    width, height = frame.width, frame.height
    display_w, display_h = round(width * sar), height
    if rotation in (90, 270):
        display_w, display_h = display_h, display_w
    rate = stream.average_rate or stream.guessed_rate or survey.fps_estimate(stream) or 25
    return VideoInfo(
        codec=ctx.name,
        width=width,
        height=height,
        display_width=display_w,
        display_height=display_h,
        sample_aspect_ratio=(sar.numerator, sar.denominator),
        rotation=rotation,
        fps=round(float(rate), 3),
        is_vfr=survey.looks_vfr(stream),
        interlaced=start.interlaced,
        pix_fmt=frame.format.name,
        stream_index=stream.index,
    )


def _audio_info(stream: AudioStream) -> AudioInfo:
    ctx = stream.codec_context
    return AudioInfo(
        codec=ctx.name,
        channels=ctx.channels,
        layout=ctx.layout.name,
        sample_rate=ctx.sample_rate,
        stream_index=stream.index,
    )


def _check_limits(info: MediaInfo, limits: MediaLimits) -> None:
    """The decoded picture, turned upright, and its frame rate (the duration was checked before decoding)."""
    video = info.video
    if video is None:
        return
    check_picture(video.display_width, video.display_height, limits)
    check_frame_rate(video.fps, limits)
