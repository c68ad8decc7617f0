"""Media bombs: tiny files that declare or hold enormous pictures, and a peak-memory probe.

``picture_bomb(path, declared)`` writes a MOV holding one 16000x16000 black PNG (747 KB: deflate
squeezes the 768 MB of pixels about a thousand times), its track declaring ``declared`` pixels.
``peak_rss(setup, run)`` runs Python in a child process and reports its peak resident memory
after the imports and at the end, so a test can bound what handling an input costs.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from functools import cache
from pathlib import Path

import av

__all__ = ["BOMB_SIDE", "picture_bomb", "peak_rss"]

#: Width and height of the bomb's picture, pixels: 732 MiB once decoded to RGB.
BOMB_SIDE = 16000


@cache
def _png(side: int) -> bytes:
    """A black RGB PNG, compressed row by row so that building it costs no memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    deflate = zlib.compressobj(9)
    row = bytes(1 + 3 * side)  # filter byte 0, then RGB zeros
    body = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def picture_bomb(path: Path, declared: tuple[int, int] = (BOMB_SIDE, BOMB_SIDE)) -> Path:
    """Write a one-frame 25 fps MOV at ``path`` whose PNG frame is BOMB_SIDE pixels square and
    whose track header says ``declared`` (width, height); the packet is muxed, never encoded."""
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("png", rate=25)
        stream.width, stream.height = declared
        stream.pix_fmt = "rgb24"
        stream.time_base = Fraction(1, 25)
        packet = av.Packet(_png(BOMB_SIDE))
        packet.stream = stream
        packet.pts = packet.dts = 0
        packet.duration = 1
        packet.time_base = stream.time_base
        out.mux(packet)
    return path


_CHILD = """
import json, resource, sys
sys.path[:0] = {paths!r}

def mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

{setup}
base = mib()
{run}
print(json.dumps({{"result": result, "base_mib": base, "peak_mib": mib()}}))
"""


def peak_rss(setup: str, run: str, *, cwd: Path) -> dict[str, object]:
    """Run Python ``setup`` (imports), then ``run``, which must set ``result`` to a JSON value, in
    a fresh interpreter with this process's import path.

    Returns ``{"result": ..., "base_mib": peak resident MiB after setup, "peak_mib": at the end}``.
    """
    script = _CHILD.format(paths=sys.path, setup=setup, run=run)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer
