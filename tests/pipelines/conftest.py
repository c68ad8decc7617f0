"""Tiny real media for the pipelines tests, generated once per session with the ffmpeg CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import pytest

MakeClip = Callable[..., Path]


def _run_ffmpeg(args: list[str]) -> None:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory: pytest.TempPathFactory) -> MakeClip:
    """Return ``make(name, size=..., rate=..., duration=..., audio=..., ...) -> Path``.

    Video is lavfi ``testsrc2`` (libx264 ultrafast), audio a 440 Hz sine in AAC. Clips are
    cached by name for the session, so two tests asking for the same name share one file.
    """
    folder = tmp_path_factory.mktemp("clips")
    cache: dict[str, Path] = {}

    def make(
        name: str,
        *,
        size: str | None = "320x240",
        rate: float = 30,
        duration: float = 4.0,
        audio: bool = True,
        channel_layout: str = "stereo",
        sample_rate: int = 48000,
        vfilter: str | None = None,
        video_args: list[str] | None = None,
        audio_args: list[str] | None = None,
        pre_input: list[str] | None = None,
        out_args: list[str] | None = None,
    ) -> Path:
        if name in cache:
            return cache[name]
        path = folder / name
        args: list[str] = []
        if size is not None:
            args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={duration}"]
        if audio:
            args += [
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=440:sample_rate={sample_rate}:duration={duration}",
            ]
        if size is not None:
            args += video_args or ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
            if vfilter:
                args += ["-vf", vfilter]
        if audio:
            args += (audio_args or ["-c:a", "aac", "-b:a", "96k"]) + ["-ac", str(_channels(channel_layout))]
        args += [*(out_args or []), str(path)]
        _run_ffmpeg(args)
        if pre_input:
            wrapped = folder / f"wrapped_{name}"
            _run_ffmpeg([*pre_input, "-i", str(path), "-c", "copy", str(wrapped)])
            path = wrapped
        cache[name] = path
        return path

    return make


def _channels(layout: str) -> int:
    return {"mono": 1, "stereo": 2, "5.1": 6}[layout]
