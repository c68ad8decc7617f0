"""From a media file to its fingerprint: audio peaks and frame hashes in one object."""

from __future__ import annotations

import io
import logging
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from .audio import Landmarks, Peaks, find_peaks
from .decode import FRAME_RATE, decode_audio, has_streams, sample_frames
from .errors import InvalidFingerprint, NoFingerprintableStream
from .video import FrameHashes, hash_frames

FORMAT_VERSION = 1

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

    def to_bytes(self) -> bytes:
        """Serialise (an uncompressed .npz) so that one worker can fingerprint and another match."""
        arrays: dict[str, np.ndarray] = {
            "version": np.array([FORMAT_VERSION]),
            "duration": np.array([self.duration], np.float64),
        }
        if self.peaks is not None:
            arrays["peak_times"], arrays["peak_freqs"] = self.peaks.times, self.peaks.freqs
        if self.frames is not None:
            arrays["frame_hashes"], arrays["frame_flipped"] = self.frames.hashes, self.frames.flipped
            arrays["frame_times"] = self.frames.times
            if self.frames.masked is not None:
                arrays["frame_masked"] = self.frames.masked
            if self.frames.centre is not None and self.frames.centre_flipped is not None:
                arrays["frame_centre"] = self.frames.centre
                arrays["frame_centre_flipped"] = self.frames.centre_flipped
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> MediaFingerprint:
        """Read what :meth:`to_bytes` wrote; raises InvalidFingerprint on anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                a = {k: npz[k] for k in npz.files}
            if a["version"].tolist() != [FORMAT_VERSION]:
                raise InvalidFingerprint(
                    f"fingerprint format {a['version'].tolist()} is not {FORMAT_VERSION}"
                )
            peaks = Peaks(a["peak_times"], a["peak_freqs"]) if "peak_times" in a else None
            frames = None
            if "frame_times" in a:
                frames = FrameHashes(
                    a["frame_hashes"],
                    a["frame_flipped"],
                    a["frame_times"],
                    a.get("frame_masked"),
                    a.get("frame_centre"),
                    a.get("frame_centre_flipped"),
                )
            return cls(peaks=peaks, frames=frames, duration=float(a["duration"][0]))
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise InvalidFingerprint(f"not a serialised media fingerprint: {exc}") from exc


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
