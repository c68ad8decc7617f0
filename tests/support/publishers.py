"""Real live publishers for tests: ffmpeg (imageio-ffmpeg's binary) pushing a test pattern and a
tone over RTMP in real time, or any other command. Every process still running at the end of the
test is killed, and its pipes closed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence

import imageio_ffmpeg
import pytest

__all__ = ["Publishers", "H264", "ULTRAFAST"]

#: libx264 at a speed that keeps up in real time on one busy core.
H264 = ("-c:v", "libx264", "-preset", "superfast")
#: libx264 at its fastest, for larger pictures or many publishers at once.
ULTRAFAST = ("-c:v", "libx264", "-preset", "ultrafast")


class Publishers:
    """Starts publisher processes for one test; ``close`` ends them."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, args: Sequence[str]) -> subprocess.Popen[bytes]:
        """Run ``args`` (stderr kept in a pipe, for a failing test to show)."""
        proc = subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.started.append(proc)
        return proc

    def ffmpeg(self, *args: str) -> subprocess.Popen[bytes]:
        """ffmpeg with ``args``, quiet but for errors, never reading stdin."""
        return self.start(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]
        )

    def test_pattern(
        self,
        url: str,
        *,
        seconds: float | None = None,
        size: str = "320x240",
        gop: int = 50,
        video: Sequence[str] = H264,
    ) -> subprocess.Popen[bytes]:
        """A 25 fps test pattern (``size``, a keyframe every ``gop`` frames, encoded with ``video``)
        and a 440 Hz AAC tone pushed to ``url`` in real time, for ``seconds`` or until killed."""
        length = ["-t", str(seconds)] if seconds is not None else []
        return self.ffmpeg(
            "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            *length, *video, "-g", str(gop), "-threads", "1",
            "-c:a", "aac", "-f", "flv", url,
        )  # fmt: skip

    def close(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            if proc.stderr is not None:
                proc.stderr.close()
        self.started.clear()


@pytest.fixture
def ffmpeg_publishers() -> Iterator[Publishers]:
    publishers = Publishers()
    try:
        yield publishers
    finally:
        publishers.close()
