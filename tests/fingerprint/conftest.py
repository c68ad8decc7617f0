"""Media for the fingerprint tests: real game music from Debian, and small generated videos.

The music is the ``asc-music`` package (three MP3 tracks, about 10 MB), fetched once with
``apt-get download`` into ~/.cache/socialflow-test-media and never committed. Without network
or apt the tests that need it skip locally and fail in CI (``support.services.service_missing``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest
from scipy import ndimage
from support.music import TRACKS

from fingerprint import AudioIndex, AudioSignal, Matcher, decode_audio, find_peaks

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
REFERENCE_SECONDS = 120.0
RATE = 8000


def ffmpeg(*args: str | Path) -> None:
    """Run the ffmpeg CLI quietly; raise with its message on failure."""
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="session")
def music(music_files: dict[str, Path]) -> dict[str, AudioSignal]:
    """Decoded tracks (8 kHz mono): the first two cut to REFERENCE_SECONDS, the third whole."""
    out = {}
    for name, path in music_files.items():
        limit = None if name == TRACKS[2] else REFERENCE_SECONDS
        out[name] = decode_audio(path, max_seconds=limit)
    return out


@pytest.fixture(scope="session")
def audio_matcher(music: dict[str, AudioSignal]) -> Matcher:
    """A matcher over an audio index of reference 0 = frontiers and 1 = machine_wars."""
    index = AudioIndex()
    for ref_id, name in enumerate(TRACKS[:2]):
        index.add(ref_id, find_peaks(music[name]).landmarks())
    return Matcher(index, None)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Write mono float samples as a 16-bit WAV with PyAV."""
    pcm = np.clip(samples, -1.0, 1.0)
    pcm = (pcm * 32767).astype(np.int16).reshape(1, -1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def make_video(
    path: Path,
    seed: int,
    seconds: float = 12.0,
    fps: int = 10,
    size: tuple[int, int] = (192, 144),
    audio: np.ndarray | None = None,
) -> Path:
    """An H.264 video of smooth random scenes (a new one every 1.5 s, each panning slowly).

    With ``audio`` (mono float at RATE Hz) an AAC track is muxed as well.
    """
    w, h = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        astream = container.add_stream("aac", rate=RATE, layout="mono") if audio is not None else None
        base = np.zeros((3, 2 * h, 2 * w))
        for i in range(round(seconds * fps)):
            t = i / fps
            scene = int(t / 1.5)
            if i == 0 or int((i - 1) / fps / 1.5) != scene:
                rng = np.random.default_rng(seed * 1000 + scene)
                base = ndimage.gaussian_filter(rng.standard_normal((3, 2 * h, 2 * w)), (0, 12, 12))
                base = (base - base.min()) / (base.max() - base.min()) * 255
            dx = int((t % 1.5) * 20)
            rgb = np.ascontiguousarray(base[:, dx : dx + h, dx : dx + w].transpose(1, 2, 0).astype(np.uint8))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if astream is not None and audio is not None:
            pcm = audio.astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
            frame.sample_rate = RATE
            for packet in astream.encode(frame):
                container.mux(packet)
            for packet in astream.encode(None):
                container.mux(packet)
    return path


class MediaKit:
    """The helpers above, handed to tests by the ``kit`` fixture (test modules import no conftest)."""

    RATE = RATE
    REFERENCE_SECONDS = REFERENCE_SECONDS
    TRACKS = TRACKS
    ffmpeg = staticmethod(ffmpeg)
    write_wav = staticmethod(write_wav)
    make_video = staticmethod(make_video)

    @staticmethod
    def excerpt(signal: AudioSignal, start: float, seconds: float) -> np.ndarray:
        """A copy of ``seconds`` of the signal from ``start`` (seconds)."""
        return signal.samples[round(start * signal.rate) : round((start + seconds) * signal.rate)].copy()


@pytest.fixture(scope="session")
def kit() -> type[MediaKit]:
    return MediaKit


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fingerprint-media")
