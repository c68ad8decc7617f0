"""Repackages one live source rendition, without re-encoding, into CMAF Low-Latency HLS.

The packager is pure: it takes frames and returns the files to write, ``(name, bytes)`` in the
order they must be written (parts and segments before the playlists that list them).

- It starts at the first video keyframe after a video configuration record (or at the first
  audio frame when the metadata announces no video); the init segment holds the tracks whose
  configuration arrived by then.
- A part is cut before it would exceed ``part_target_s``; a segment is cut at the first video
  keyframe once ``segment_target_s`` have passed. Video drives the cuts; audio samples ride in
  the part that is open when their duration becomes known (each track has its own ``tfdt``).
- Files: ``init.mp4``, ``part{msn}.{i}.m4s``, ``seg{msn}.m4s`` (its parts concatenated),
  ``index.m3u8`` (media playlist) and ``master.m3u8`` (written once the first segment exists,
  unless ``master_name`` is empty: a sink serving a ladder writes the master itself).
  ``name_prefix`` goes before the part and segment names (a rung's ``720p-part3.1.m4s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live.lanes import TrackLane
from pipelines.live.playlist import LivePlaylist, Part, Variant, render_master
from pipelines.live.tracks import VIDEO_TIMESCALE, audio_track, video_track
from pipelines.packaging.fragment_writer import fragment
from pipelines.packaging.init_segments import init_segment
from pipelines.packaging.tracks import KEY_FLAGS, Sample, Track, sample_flags

__all__ = ["LiveSettings", "LlHlsPackager", "Output"]

log = logging.getLogger(__name__)

Output = tuple[str, bytes]
_AAC_FRAME = 1024
_EPSILON_S = 0.001
_MAX_GAP_S = 10


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """Packaging targets in seconds; ``window_segments`` complete segments stay listed.

    The transcoded ladder (``pipelines.live.ladder``): with ``ladder`` on, an H.264 source gets
    one rung per size in ``rungs`` (short sides in pixels) that is at most 90 % of the source's
    short side, encoded with libx264 at ``rung_preset`` on ``rung_threads`` threads each. A rung
    more than ``rung_queue_frames`` decoded frames behind skips to the next source keyframe.
    """

    part_target_s: float = 0.5
    segment_target_s: float = 2.0
    window_segments: int = 6
    playlist_name: str = "index.m3u8"
    master_name: str = "master.m3u8"
    init_name: str = "init.mp4"
    name_prefix: str = ""
    ladder: bool = True
    rungs: tuple[int, ...] = (720, 480, 360)
    rung_preset: str = "veryfast"
    rung_threads: int = 1
    rung_queue_frames: int = 30


class LlHlsPackager:
    """Turns one stream's frames into LL-HLS files; see the module docstring for the rules."""

    def __init__(self, settings: LiveSettings | None = None, clock: Callable[[], float] = time.time):
        """``clock`` gives the wall-clock time in Unix seconds (for EXT-X-PROGRAM-DATE-TIME)."""
        self.settings = settings or LiveSettings()
        self._clock = clock
        self.playlist = LivePlaylist(
            self.settings.part_target_s,
            self.settings.segment_target_s,
            self.settings.init_name,
            self.settings.window_segments,
        )
        self.metadata: dict[str, Any] = {}
        self.expired: list[str] = []
        self._video_config: tuple[str, bytes] | None = None
        self._audio_config: bytes | None = None
        self._video: TrackLane | None = None
        self._audio: TrackLane | None = None
        self._driver: TrackLane | None = None
        self._sequence = 1
        self._part_start = self._segment_start = 0
        self._segment_parts: list[bytes] = []
        self._master_written = False
        self._first_segment_bytes = 0
        self.variant: Variant | None = None  # this rendition's master entry, once a segment exists

    @property
    def started(self) -> bool:
        return self._driver is not None

    @property
    def tracks(self) -> list[Track]:
        return [lane.track for lane in (self._video, self._audio) if lane is not None]

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self.metadata = dict(metadata)

    def add_video(self, frame: VideoFrame) -> list[Output]:
        if frame.is_config:
            if not self.started:
                self._video_config = (frame.codec, frame.data)
            elif self._video is not None and self._video_config != (frame.codec, frame.data):
                log.warning("video configuration changed mid-stream; the packager keeps the first one")
            return []
        outputs: list[Output] = []
        if not self.started:
            if self._video_config is None or not frame.keyframe:
                return []
            outputs.append(self._start(with_video=True, first_dts=frame.ts_ms * 90))
        if self._video is None:
            return outputs
        lane = self._video
        dts = lane.place(frame.ts_ms * 90, step=3600, max_gap=_MAX_GAP_S * VIDEO_TIMESCALE)
        lane.push(Sample(dts, 0, sample_flags(frame.keyframe), frame.cts_ms * 90, frame.data))
        return outputs + self._maybe_cut(dts, frame.keyframe)

    def add_audio(self, frame: AudioFrame) -> list[Output]:
        if frame.codec != "aac":
            return []
        if frame.is_config:
            if not self.started:
                self._audio_config = frame.data
            return []
        outputs: list[Output] = []
        if not self.started:
            if self._audio_config is None or "videocodecid" in self.metadata or self._video_config:
                return []
            assert self._audio_config is not None
            rate = audio_track(1, self._audio_config).timescale
            outputs.append(self._start(with_video=False, first_dts=round(frame.ts_ms * rate / 1000)))
        if self._audio is None:
            return outputs
        lane = self._audio
        rate = lane.track.timescale
        dts = lane.place(
            round(frame.ts_ms * rate / 1000), step=_AAC_FRAME, max_gap=_MAX_GAP_S * rate, snap=_AAC_FRAME
        )
        lane.push(Sample(dts, 0, KEY_FLAGS, 0, frame.data))
        if self._driver is lane:
            return outputs + self._maybe_cut(dts, True)
        return outputs

    def finish(self) -> list[Output]:
        """Flush everything and end the playlist; returns [] when the stream never started."""
        if self._driver is None:
            return []
        for lane, default in ((self._video, 3600), (self._audio, _AAC_FRAME)):
            if lane is not None:
                lane.flush(default)
        end = sum((s.duration for s in self._driver.ready), self._part_start)
        outputs = self._cut(end, close_segment=True) if self._driver.ready else []
        self.playlist.ended = True
        self.playlist.next_part_uri = None
        outputs.append((self.settings.playlist_name, self.playlist.render().encode()))
        return outputs

    def _start(self, *, with_video: bool, first_dts: int) -> Output:
        self._part_start = self._segment_start = first_dts
        self.playlist.started_at = self._clock()
        track_id = 1
        if with_video and self._video_config is not None:
            codec, record = self._video_config
            width, height = int(self.metadata.get("width") or 0), int(self.metadata.get("height") or 0)
            self._video = TrackLane(video_track(track_id, codec, record, width, height))
            track_id += 1
        if self._audio_config is not None:
            self._audio = TrackLane(audio_track(track_id, self._audio_config))
        self._driver = self._video or self._audio
        log.info("live packaging started: %s", ", ".join(t.codec_string for t in self.tracks))
        return self.settings.init_name, init_segment(self.tracks)

    def _maybe_cut(self, now: int, keyframe: bool) -> list[Output]:
        driver = self._driver
        if driver is None or not driver.ready:
            return []
        scale = driver.track.timescale
        if keyframe and (now - self._segment_start) / scale + _EPSILON_S >= self.settings.segment_target_s:
            return self._cut(now, close_segment=True)
        next_end = now + max(driver.last_duration, driver.ready[-1].duration)
        if (next_end - self._part_start) / scale > self.settings.part_target_s + _EPSILON_S:
            return self._cut(now, close_segment=False)
        return []

    def _cut(self, now: int, *, close_segment: bool) -> list[Output]:
        driver = self._driver
        assert driver is not None
        scale = driver.track.timescale
        lanes = [lane for lane in (self._video, self._audio) if lane is not None]
        independent = driver.ready[0].is_sync
        data = fragment(self._sequence, [(lane.track.track_id, lane.ready) for lane in lanes])
        self._sequence += 1
        for lane in lanes:
            lane.ready = []
        current = self.playlist.current
        prefix = self.settings.name_prefix
        name = f"{prefix}part{current.msn}.{len(current.parts)}.m4s"
        outputs: list[Output] = [(name, data)]
        self._segment_parts.append(data)
        part = Part(name, (now - self._part_start) / scale, independent)
        self._part_start = now
        self.playlist.add_part(part, None)
        if close_segment:
            segment_name = f"{prefix}seg{current.msn}.m4s"
            segment = b"".join(self._segment_parts)
            self._first_segment_bytes = self._first_segment_bytes or len(segment)
            outputs.append((segment_name, segment))
            self.playlist.close_segment(segment_name, (now - self._segment_start) / scale)
            self._segment_start, self._segment_parts = now, []
            for old in self.playlist.drop_expired():
                self.expired += [p.uri for p in old.parts] + [old.uri or ""]
        building = self.playlist.current
        self.playlist.next_part_uri = f"{prefix}part{building.msn}.{len(building.parts)}.m4s"
        if self.variant is None and self.playlist.segments:
            first = self.playlist.segments[0]
            bandwidth = int(8 * self._first_segment_bytes / max(first.duration, 0.001) * 1.2)
            self.variant = Variant.of(self.tracks, bandwidth, self.settings.playlist_name)
        if not self._master_written and self.variant is not None and self.settings.master_name:
            master = render_master(self.tracks, self.variant.bandwidth, self.settings.playlist_name)
            outputs.append((self.settings.master_name, master.encode()))
            self._master_written = True
        outputs.append((self.settings.playlist_name, self.playlist.render().encode()))
        return outputs
