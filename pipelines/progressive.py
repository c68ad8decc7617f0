"""A progressive MP4 from the CMAF renditions a transcode wrote, without encoding again.

Ad players (VAST ``delivery="progressive"``) want one plain MP4 file with its index (``moov``) at
the front. A rendition's init segment followed by its media segments is a valid fragmented MP4;
this remuxes one video rendition and the audio rendition from that form into a single
non-fragmented MP4 with ``faststart``. Packets are copied as they are, in decode order.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from pipelines.errors import CorruptMedia

__all__ = ["concatenate", "progressive_mp4"]


def concatenate(parts: Sequence[Path], out: Path) -> Path:
    """Write ``parts`` (an init segment then media segments) end to end into ``out``."""
    with out.open("wb") as sink:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, sink)
    return out


def progressive_mp4(video: Path, audio: Path | None, out: Path) -> tuple[int, int, float]:
    """Remux ``video`` (and ``audio``, fragmented MP4 files) into ``out``; returns the width,
    height and duration (seconds) of the result. ``CorruptMedia`` when the input has no video."""
    inputs = [av.open(str(video))]
    if audio is not None:
        inputs.append(av.open(str(audio)))
    try:
        video_in = inputs[0].streams.video[0] if inputs[0].streams.video else None
        if video_in is None:
            raise CorruptMedia("the rendition has no video stream")
        sources: list[Any] = [video_in]
        if audio is not None:
            audio_in = next((s for s in inputs[1].streams if s.type == "audio"), None)
            if audio_in is not None:
                sources.append(audio_in)
        with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as output:
            streams = {id(s): output.add_stream_from_template(s) for s in sources}
            packets = []
            for container, source in zip(inputs, sources, strict=False):
                for packet in container.demux(source):
                    if packet.dts is None or packet.size == 0:
                        continue
                    packets.append(packet)
            packets.sort(key=lambda p: Fraction(p.dts or 0) * p.time_base)
            end = Fraction(0)
            for packet in packets:
                target = streams[id(packet.stream)]
                stop = Fraction(packet.pts if packet.pts is not None else packet.dts or 0) * packet.time_base
                if packet.duration:
                    stop += Fraction(packet.duration) * packet.time_base
                end = max(end, stop)
                packet.stream = target
                output.mux(packet)
        return video_in.width, video_in.height, float(end)
    finally:
        for container in inputs:
            container.close()
