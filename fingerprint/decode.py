"""Decoding media files into the raw signals the fingerprints are computed from.

Audio becomes mono float32 PCM at :data:`AUDIO_RATE` Hz (samples in -1..1). Video becomes a few
grayscale frames per second, downscaled so that the longer side is at most :data:`FRAME_SIZE`
pixels, each with its presentation time in seconds from the start of the stream.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import av
import numpy as np

from .errors import MediaUnreadable, NoFingerprintableStream

log = logging.getLogger(__name__)

AUDIO_RATE = 8000
"""Sample rate (Hz) every fingerprinted signal is resampled to."""

MAX_BAD_PACKETS = 3
"""Undecodable audio packets skipped in any file; beyond this, up to 1% of the packets."""
OUT_FRAME = 8192
"""Samples per frame the resampler hands back (about 1 s at AUDIO_RATE)."""
FRAME_RATE = 2.0
"""Video frames sampled per second of media."""

FRAME_SIZE = 128
"""Longer side (pixels) of the sampled grayscale frames."""

MAX_PICTURE_PIXELS = 7680 * 7680
"""Most pixels one decoded picture may have (the platform's default upload limit, 7680x7680).
FFmpeg refuses a larger picture before allocating it, whatever the headers declared, so a small
file holding an enormous picture fails to decode instead of costing gigabytes."""
_BOUNDED = {"max_pixels": str(MAX_PICTURE_PIXELS)}


@dataclass(frozen=True)
class AudioSignal:
    """Mono float32 samples at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate


@dataclass(frozen=True)
class VideoFrames:
    """Grayscale uint8 frames of shape (n, height, width) and their times (float64 seconds)."""

    images: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.times)


def _open(path: str | os.PathLike[str]) -> av.container.InputContainer:
    try:
        return av.open(os.fspath(path), mode="r", options=_BOUNDED)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaUnreadable(f"cannot open {os.fspath(path)!r} as media: {exc}") from exc


def has_streams(path: str | os.PathLike[str]) -> tuple[bool, bool]:
    """Whether the file has (an audio stream, a video stream)."""
    with _open(path) as container:
        return bool(container.streams.audio), bool(container.streams.video)


def decode_audio(
    path: str | os.PathLike[str], rate: int = AUDIO_RATE, max_seconds: float | None = None
) -> AudioSignal:
    """Decode the first audio stream of ``path`` to mono float32 at ``rate`` Hz.

    Decoding stops after ``max_seconds`` of output when given. Raises
    :class:`NoFingerprintableStream` when the file has no audio stream and
    :class:`MediaUnreadable` when it cannot be opened or decoded.
    """
    limit = None if max_seconds is None else int(max_seconds * rate)
    chunks: list[np.ndarray] = []
    total = 0
    with _open(path) as container:
        if not container.streams.audio:
            raise NoFingerprintableStream(f"{os.fspath(path)!r} has no audio stream")
        stream = container.streams.audio[0]
        # Large output frames: PyAV's per-frame cost (a Python object and an array per frame)
        # was most of the decoding time with the codec's own small frames (2x slower overall).
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate, frame_size=OUT_FRAME)
        packets = bad = 0
        try:
            for packet in container.demux(stream):
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    # As the ffmpeg CLI does, a packet the decoder refuses is skipped (a stray
                    # Ogg page at the end of a Vorbis file, seen in Debian's game music).
                    bad += 1
                    if bad > MAX_BAD_PACKETS and bad > packets // 100:
                        raise
                    continue
                for frame in frames:
                    for out in resampler.resample(frame):
                        chunk = out.to_ndarray().reshape(-1)
                        chunks.append(chunk)
                        total += len(chunk)
                if limit is not None and total >= limit:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
        except (av.error.FFmpegError, ValueError) as exc:
            # ValueError: the resampler refuses a stream whose format changes midway.
            raise MediaUnreadable(f"cannot decode audio of {os.fspath(path)!r}: {exc}") from exc
    if bad and not chunks:
        raise MediaUnreadable(f"cannot decode audio of {os.fspath(path)!r}: every packet was refused")
    if bad:
        log.warning("skipped %d of %d undecodable audio packets in %s", bad, packets, os.fspath(path))
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if limit is not None:
        samples = samples[:limit]
    return AudioSignal(samples=samples, rate=rate)


def _frame_shape(width: int, height: int, size: int) -> tuple[int, int]:
    scale = size / max(width, height)
    return max(8, round(width * scale)), max(8, round(height * scale))


def sample_frames(
    path: str | os.PathLike[str], fps: float = FRAME_RATE, size: int = FRAME_SIZE
) -> VideoFrames:
    """Sample ``fps`` grayscale frames per second from the first video stream of ``path``.

    Times are seconds from the stream's start time. For each sampling instant k/fps the first
    frame at or after it is kept (frames are never repeated, so a video with a lower frame rate
    yields fewer frames). Raises
    :class:`NoFingerprintableStream` when there is no video stream.
    """
    images: list[np.ndarray] = []
    times: list[float] = []
    with _open(path) as container:
        if not container.streams.video:
            raise NoFingerprintableStream(f"{os.fspath(path)!r} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.options = dict(_BOUNDED)
        origin = stream.start_time or 0
        next_time = 0.0
        shape: tuple[int, int] | None = None
        try:
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    continue
                t = float((frame.pts - origin) * frame.time_base)
                if t + 1e-6 < next_time:
                    continue
                if shape is None:
                    shape = _frame_shape(frame.width, frame.height, size)
                gray = frame.reformat(width=shape[0], height=shape[1], format="gray")
                images.append(gray.to_ndarray().copy())
                times.append(t)
                next_time = (int(t * fps + 1e-6) + 1) / fps
        except av.error.FFmpegError as exc:
            raise MediaUnreadable(f"cannot decode video of {os.fspath(path)!r}: {exc}") from exc
    if not images:
        return VideoFrames(np.zeros((0, 8, 8), np.uint8), np.zeros(0, np.float64))
    log.debug("sampled %d frames from %s", len(images), path)
    return VideoFrames(np.stack(images), np.asarray(times, np.float64))
