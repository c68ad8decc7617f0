"""From a media file to its fingerprint: audio peaks and frame hashes in one object."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .audio import Landmarks, Peaks, find_peaks
from .decode import FRAME_RATE, decode_audio, has_streams, sample_frames
from .errors import NoFingerprintableStream
from .video import FrameHashes, hash_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaFingerprint:
    """What the index and the matcher need of one file.

    ``peaks`` is None without an audio stream, ``frames`` None without a video stream;
    ``duration`` is the longer of the two streams in seconds.
    """

    peaks: Peaks | None
    frames: FrameHashes | None
    duration: float

    def landmarks(self, speed: float = 1.0) -> Landmarks | None:
        """Audio landmarks, undoing a speed-up by ``speed`` (see :meth:`Peaks.landmarks`)."""
        return None if self.peaks is None else self.peaks.landmarks(speed)


def fingerprint_file(
    path: str | os.PathLike[str], audio: bool = True, video: bool = True, fps: float = FRAME_RATE
) -> MediaFingerprint:
    """Decode ``path`` and fingerprint its first audio and first video stream.

    Raises NoFingerprintableStream when neither a wanted audio nor a wanted video stream exists,
    and MediaUnreadable when the file cannot be decoded.
    """
    has_audio, has_video = has_streams(path)
    use_audio, use_video = audio and has_audio, video and has_video
    if not (use_audio or use_video):
        raise NoFingerprintableStream(f"{os.fspath(path)!r} has no audio or video stream to fingerprint")
    peaks = frames = None
    duration = 0.0
    if use_audio:
        signal = decode_audio(path)
        peaks = find_peaks(signal)
        duration = signal.duration
    if use_video:
        sampled = sample_frames(path, fps=fps)
        frames = hash_frames(sampled)
        if len(sampled):
            duration = max(duration, float(sampled.times[-1]) + 1.0 / fps)
    log.debug("fingerprinted %s: %.1f s", path, duration)
    return MediaFingerprint(peaks=peaks, frames=frames, duration=duration)
