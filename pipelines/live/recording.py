"""An FLV recording of a live session, so it can be transcoded later like an uploaded video.

The file is written as the frames arrive: FLV header, an ``onMetaData`` script tag (the
publisher's metadata with our own ``duration``), then one tag per frame, rebuilt from the frame
(legacy FLV tags for H.264 and AAC, Enhanced RTMP tags for HEVC and AV1). ``close`` patches the
duration (seconds) into the metadata, so demuxers report it without scanning the file.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from pipelines.amf0 import EcmaArray, encode
from pipelines.frames import AudioFrame, VideoFrame

__all__ = ["FlvRecorder", "seal_recording"]

_AUDIO, _VIDEO, _SCRIPT = 8, 9, 18
_FOURCC = {"hevc": b"hvc1", "av1": b"av01"}
_KEPT = ("width", "height", "framerate", "videocodecid", "audiocodecid", "audiosamplerate", "stereo")


class FlvRecorder:
    """Writes ``path``; timestamps are milliseconds from the first frame's time."""

    def __init__(self, path: Path):
        self.path = path
        self._file: BinaryIO | None = None
        self._metadata: dict[str, Any] = {}
        self._duration_at = 0
        self._first_ts: int | None = None
        self._last_ts = 0
        self.tags = 0

    @property
    def duration_s(self) -> float:
        """Seconds between the first and the last frame written."""
        return 0.0 if self._first_ts is None else (self._last_ts - self._first_ts) / 1000

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Keep the publisher's descriptive metadata; only effective before the first frame."""
        self._metadata = {k: metadata[k] for k in _KEPT if k in metadata}

    def _open(self) -> BinaryIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")
            self._file.write(b"FLV\x01\x05\x00\x00\x00\x09" + bytes(4))
            meta = EcmaArray(self._metadata)
            meta["duration"] = 0.0
            body = encode("onMetaData", meta)
            marker = b"\x00\x08duration\x00"
            self._duration_at = self._file.tell() + 11 + body.rindex(marker) + len(marker)
            self._tag(_SCRIPT, 0, body)
        return self._file

    def _tag(self, kind: int, ts_ms: int, body: bytes) -> None:
        assert self._file is not None
        ts = ts_ms & 0xFFFFFFFF
        header = bytes([kind]) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
        header += bytes([ts >> 24]) + bytes(3)
        self._file.write(header + body + struct.pack(">I", 11 + len(body)))
        self.tags += 1

    def _time(self, ts_ms: int) -> int:
        if self._first_ts is None:
            self._first_ts = ts_ms
        self._last_ts = max(self._last_ts, ts_ms)
        return max(ts_ms - self._first_ts, 0)

    def write_video(self, frame: VideoFrame) -> None:
        self._open()
        frame_type = 1 if frame.keyframe or frame.is_config else 2
        cts = (frame.cts_ms & 0xFFFFFF).to_bytes(3, "big")
        if frame.codec == "h264":
            body = bytes([frame_type << 4 | 7, 0 if frame.is_config else 1]) + cts + frame.data
        else:
            packet_type = 0 if frame.is_config else (1 if frame.codec == "hevc" else 3)
            extra = cts if packet_type == 1 else b""
            body = bytes([0x80 | frame_type << 4 | packet_type]) + _FOURCC[frame.codec] + extra + frame.data
        self._tag(_VIDEO, self._time(frame.ts_ms), body)

    def write_audio(self, frame: AudioFrame) -> None:
        if frame.codec != "aac":
            return
        self._open()
        self._tag(_AUDIO, self._time(frame.ts_ms), bytes([0xAF, 0 if frame.is_config else 1]) + frame.data)

    def close(self) -> None:
        """Patch the duration in and close; nothing is written when no frame ever came."""
        if self._file is None:
            return
        self._file.seek(self._duration_at)
        self._file.write(struct.pack(">d", self.duration_s))
        self._file.close()
        self._file = None


def seal_recording(path: Path) -> float:
    """Make the recording of a session whose ingest died usable: cut it after its last complete
    tag and patch its duration in. Returns that duration in seconds (0.0 when no media tag is
    complete). The file must be one ``FlvRecorder`` wrote (its script tag first)."""
    data = path.read_bytes()
    if len(data) < 13 or not data.startswith(b"FLV"):
        return 0.0
    position, end, first, last = 13, 13, None, 0
    while position + 11 <= len(data):
        size = int.from_bytes(data[position + 1 : position + 4], "big")
        ts = int.from_bytes(data[position + 4 : position + 7], "big") | data[position + 7] << 24
        following = position + 11 + size + 4
        if following > len(data):
            break
        if data[position] in (_AUDIO, _VIDEO):
            first = ts if first is None else first
            last = max(last, ts)
        position = end = following
    duration = 0.0 if first is None else (last - first) / 1000
    marker = b"\x00\x08duration\x00"
    at = data.find(marker, 13, end)
    with path.open("r+b") as file:
        file.truncate(end)
        if at >= 0:
            file.seek(at + len(marker))
            file.write(struct.pack(">d", duration))
    return duration
