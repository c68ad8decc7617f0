"""Our DASH writer: one static MPD (ISO/IEC 23009-1, live profile) over the same CMAF files
the HLS playlists use. One adaptation set for video, one for audio; each representation has a
``SegmentTemplate`` with an exact ``SegmentTimeline`` in its track's timescale."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from pipelines.packaging.cmaf import INIT_NAME
from pipelines.renditions import Rendition

__all__ = ["write_mpd", "DASH_NS"]

DASH_NS = "urn:mpeg:dash:schema:mpd:2011"
_CHANNELS_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"


def _duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def write_mpd(path: Path, videos: list[Rendition], audio: Rendition | None, duration: float) -> Path:
    """Write the MPD at ``path`` (``duration`` in seconds) and return its path."""
    ET.register_namespace("", DASH_NS)
    mpd = ET.Element(
        f"{{{DASH_NS}}}MPD",
        {
            "type": "static",
            "profiles": "urn:mpeg:dash:profile:isoff-live:2011",
            "mediaPresentationDuration": _duration(duration),
            "minBufferTime": "PT2.000S",
        },
    )
    period = ET.SubElement(mpd, f"{{{DASH_NS}}}Period", {"id": "0", "start": "PT0.000S"})
    if videos:
        widest = max(videos, key=lambda r: (r.width or 0) * (r.height or 0))
        video_set = ET.SubElement(
            period,
            f"{{{DASH_NS}}}AdaptationSet",
            {
                "id": "0",
                "contentType": "video",
                "mimeType": "video/mp4",
                "segmentAlignment": "true",
                "startWithSAP": "1",
                "maxWidth": str(widest.width),
                "maxHeight": str(widest.height),
            },
        )
        for video in videos:
            representation = ET.SubElement(
                video_set,
                f"{{{DASH_NS}}}Representation",
                {
                    "id": video.name,
                    "bandwidth": str(video.peak_bandwidth),
                    "codecs": video.codec,
                    "width": str(video.width),
                    "height": str(video.height),
                    "frameRate": _frame_rate(video.fps or 0.0),
                    "sar": "1:1",
                },
            )
            _template(representation, video, path)
    if audio is not None:
        audio_set = ET.SubElement(
            period,
            f"{{{DASH_NS}}}AdaptationSet",
            {
                "id": "1",
                "contentType": "audio",
                "mimeType": "audio/mp4",
                "segmentAlignment": "true",
                "startWithSAP": "1",
                "lang": "und",
            },
        )
        representation = ET.SubElement(
            audio_set,
            f"{{{DASH_NS}}}Representation",
            {
                "id": audio.name,
                "bandwidth": str(audio.peak_bandwidth),
                "codecs": audio.codec,
                "audioSamplingRate": str(audio.sample_rate),
            },
        )
        ET.SubElement(
            representation,
            f"{{{DASH_NS}}}AudioChannelConfiguration",
            {"schemeIdUri": _CHANNELS_SCHEME, "value": str(audio.channels or 2)},
        )
        _template(representation, audio, path)
    ET.indent(mpd)
    temporary = path.with_name(f".{path.name}.tmp")
    ET.ElementTree(mpd).write(temporary, encoding="utf-8", xml_declaration=True)
    os.replace(temporary, path)
    return path


def _template(parent: ET.Element, rendition: Rendition, mpd_path: Path) -> None:
    folder = Path(os.path.relpath(rendition.init.parent, mpd_path.parent)).as_posix()
    template = ET.SubElement(
        parent,
        f"{{{DASH_NS}}}SegmentTemplate",
        {
            "timescale": str(rendition.timescale),
            "initialization": f"{folder}/{INIT_NAME}",
            "media": f"{folder}/seg_$Number%05d$.m4s",
            "startNumber": str(rendition.segments[0].number),
        },
    )
    timeline = ET.SubElement(template, f"{{{DASH_NS}}}SegmentTimeline")
    previous: ET.Element | None = None
    expected = None
    for segment in rendition.segments:
        if (
            previous is not None
            and segment.ticks == int(previous.get("d", "0"))
            and segment.decode_time == expected
        ):
            previous.set("r", str(int(previous.get("r", "0")) + 1))
        else:
            previous = ET.SubElement(
                timeline, f"{{{DASH_NS}}}S", {"t": str(segment.decode_time), "d": str(segment.ticks)}
            )
        expected = segment.decode_time + segment.ticks


def _frame_rate(fps: float) -> str:
    for numerator in (24000, 30000, 60000, 120000):
        if abs(numerator / 1001 - fps) < 0.006:
            return f"{numerator}/1001"
    return f"{fps:g}"
