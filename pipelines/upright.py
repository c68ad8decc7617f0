"""Turning decoded pictures upright and progressive before they are scaled.

A phone video stores sideways pixels plus a display matrix; an interlaced source stores two
fields per frame. Encoders want neither, so frames pass through a small FFmpeg filter graph:
``bwdif`` (only on frames flagged interlaced) then ``transpose``/flips for the rotation.
Frames that need nothing skip the graph entirely.
"""

from __future__ import annotations

import av
import av.error
from av.filter import Graph

__all__ = ["Upright"]

_TURNS = {90: ["transpose=cclock"], 180: ["hflip", "vflip"], 270: ["transpose=clock"]}


class Upright:
    """Apply ``rotation`` (counter-clockwise degrees the picture needs: 0, 90, 180, 270) and
    deinterlacing. Output frames keep their pts and time base."""

    def __init__(self, *, rotation: int, deinterlace: bool) -> None:
        self._steps = (["bwdif=mode=send_frame:deint=interlaced"] if deinterlace else []) + _TURNS.get(
            rotation, []
        )
        self._graph: Graph | None = None

    def _build(self, frame: av.VideoFrame) -> Graph:
        """The graph is shaped after the first frame (size, pixel format, time base)."""
        graph = Graph()
        nodes = [
            graph.add_buffer(
                width=frame.width, height=frame.height, format=frame.format, time_base=frame.time_base
            )
        ]
        for step in self._steps:
            name, _, args = step.partition("=")
            nodes.append(graph.add(name, args or None))
        nodes.append(graph.add("buffersink"))
        graph.link_nodes(*nodes).configure()
        return graph

    def process(self, frame: av.VideoFrame | None) -> list[av.VideoFrame]:
        """Push ``frame`` (``None`` at end of stream) and return every frame ready now."""
        if not self._steps:
            return [] if frame is None else [frame]
        if self._graph is None:
            if frame is None:
                return []
            self._graph = self._build(frame)
        self._graph.vpush(frame)
        ready = []
        while True:
            try:
                ready.append(self._graph.vpull())
            except (BlockingIOError, EOFError):
                return ready
            except av.error.FFmpegError as exc:
                if exc.errno in (11, 541478725):  # EAGAIN, AVERROR_EOF
                    return ready
                raise
