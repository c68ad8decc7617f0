"""The clock drawn into frames: Unix milliseconds as a barcode of large blocks, and the real-time
publisher that draws it and pushes it over RTMP with the ffmpeg CLI.

A frame is ``WIDTH`` x ``HEIGHT`` gray; the low ``BITS`` bits of the send time in milliseconds
are drawn as ``BITS`` blocks (white 1, black 0) in two rows, large enough to survive H.264.
"""

from __future__ import annotations

import subprocess
import threading
import time

import imageio_ffmpeg
import numpy as np

__all__ = ["WIDTH", "HEIGHT", "FPS", "draw", "read", "Publisher"]

WIDTH, HEIGHT, FPS = 320, 240, 25
BITS = 40
_PER_ROW = BITS // 2
_BLOCK_W, _BLOCK_H, _TOP = WIDTH // _PER_ROW, 48, 48


def draw(ms: int) -> np.ndarray:
    """A gray frame showing ``ms`` (Unix milliseconds) as the barcode."""
    frame = np.full((HEIGHT, WIDTH), 64, np.uint8)
    for bit in range(BITS):
        row, column = divmod(bit, _PER_ROW)
        y, x = _TOP + row * (_BLOCK_H + 16), column * _BLOCK_W
        frame[y : y + _BLOCK_H, x : x + _BLOCK_W] = 255 if (ms >> bit) & 1 else 0
    return frame


def read(gray: np.ndarray, now_ms: int) -> int:
    """The send time (Unix ms) drawn in ``gray``, unwrapped to the 2**BITS ms period before ``now_ms``."""
    value = 0
    for bit in range(BITS):
        row, column = divmod(bit, _PER_ROW)
        y, x = _TOP + row * (_BLOCK_H + 16) + _BLOCK_H // 2, column * _BLOCK_W + _BLOCK_W // 2
        if gray[y - 4 : y + 4, x - 2 : x + 2].mean() > 128:
            value |= 1 << bit
    period = 1 << BITS
    return now_ms - ((now_ms - value) % period)


class Publisher:
    """Draws the clock ``FPS`` times a second for ``seconds`` and pushes it to ``url``
    (H.264, zero-latency tuning, a keyframe every ``gop`` frames; with ``audio``, a 48 kHz AAC
    tone as well, interleaved by ffmpeg with the pictures as OBS would send it)."""

    def __init__(self, url: str, seconds: float, gop: int = FPS, *, audio: bool = False) -> None:
        self.url, self.seconds, self.gop, self.audio = url, seconds, gop, audio
        self.process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="clock-publisher", daemon=True)
        self.frames = 0

    def __enter__(self) -> Publisher:
        args = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-",
        ]  # fmt: skip
        if self.audio:
            args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-shortest"]
            args += ["-c:a", "aac", "-b:a", "64k"]
        args += [
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(self.gop),
            "-pix_fmt", "yuv420p", "-threads", "1", "-f", "flv", self.url,
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        start = time.monotonic()
        total = int(self.seconds * FPS)
        try:
            for index in range(total):
                delay = start + index / FPS - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.process.stdin.write(draw(int(time.time() * 1000)).tobytes())
                self.process.stdin.flush()
                self.frames += 1
        except (BrokenPipeError, ValueError):
            return
        finally:
            self.process.stdin.close()

    def wait(self) -> int:
        self._thread.join(self.seconds + 30)
        assert self.process is not None
        return self.process.wait(30)

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
