"""Repackages one live source rendition, without re-encoding, into CMAF Low-Latency HLS.

The packager is pure: it takes frames and returns the files to write, ``(name, bytes)`` in the
order they must be written (parts and segments before the playlists that list them).

- It starts at the first video keyframe after a video configuration record (or at the first
  audio frame when the metadata announces no video); the init segment holds the tracks whose
  configuration arrived by then.
- A part is cut before it would exceed ``part_target_s`` and at every video keyframe; a segment
  is cut at the first video keyframe once ``segment_target_s`` have passed. Video drives the cuts.
  ``INDEPENDENT=YES`` marks the parts that start with a keyframe: one per GOP, so that a player
  joining mid-segment starts loading at most one GOP before its start position, not at the
  segment's start (a GOP that is not a whole number of parts leaves a short part before each
  keyframe).
- Audio is cut on its own frame boundaries: a part carries every AAC frame that starts before the
  part's video ends, so its audio ends at or after its video (by less than one frame, 21 ms at
  48 kHz) and the next part's audio continues exactly there (each track's ``tfdt`` is the end of
  the same track in the part before). A player's buffered range, where audio and video must both
  be, then reaches the end of every part it loaded: none ends short of the next part's start.
  A part whose video is complete waits for the audio that covers it (publishers interleave the
  two a few frames apart), but never longer than one more part of video, and not at all when
  the audio has stopped coming. Audio that arrived before the first keyframe covers its start.
- Files: ``init.mp4``, ``part{msn}.{i}.m4s``, ``seg{msn}.m4s`` (its parts concatenated),
  ``index.m3u8`` (media playlist) and ``master.m3u8``, unless ``master_name`` is empty (a sink
  serving a ladder writes the master itself). The master is written, and ``variant`` set, as soon
  as a player can start without stalling: once the playlist holds as many parts as
  ``PART-HOLD-BACK`` asks a player to stay behind the live edge (two by default), so that a
  player starting then has that much to play while the next parts come, instead of one part and
  a stall. Before that, the playback routes answer "not live yet".
  ``name_prefix`` goes before the part and segment names (a rung's ``720p-part3.1.m4s``).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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
_AUDIO_STALLED_S = 1.0  # audio this far behind the video has stopped coming: parts do not wait
_EARLY_AUDIO = 16  # AAC frames kept from before the first keyframe (about 0.35 s)


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """Packaging targets in seconds; ``window_segments`` complete segments stay listed.

    ``part_hold_back_parts``: ``PART-HOLD-BACK`` in part targets (2 by default, the least RFC
    8216bis allows; it recommends 3): how far behind the live edge an LL-HLS player starts and
    stays.

    The transcoded ladder (``pipelines.live.ladder``): with ``ladder`` on, an H.264 source gets
    one rung per size in ``rungs`` (short sides in pixels) that is at most 90 % of the source's
    short side, encoded with libx264 at ``rung_preset`` on ``rung_threads`` threads each. A rung
    more than ``rung_queue_frames`` decoded frames behind skips to the next source keyframe.
    """

    part_target_s: float = 0.5
    segment_target_s: float = 2.0
    part_hold_back_parts: float = 2.0
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


@dataclass(slots=True)
class _Closed:
    """A part whose cut is decided: the driving track's samples from ``start`` to ``end`` (ticks
    of ``scale``), in a segment that started at ``segment_start``."""

    samples: list[Sample]
    start: int
    end: int
    scale: int
    segment_start: int
    close_segment: bool
    runs: list[tuple[int, list[Sample]]] = field(default_factory=list)


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
            part_hold_back_parts=self.settings.part_hold_back_parts,
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
        self._closed: list[_Closed] = []
        self._early_audio: deque[AudioFrame] = deque(maxlen=_EARLY_AUDIO)
        self._first_video_dts = 0
        self._segment_parts: list[bytes] = []
        self._master_written = False
        self._bytes = 0
        self._seconds = 0.0
        self._parts = 0
        self.variant: Variant | None = None  # this rendition's master entry, once players can start

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
        return outputs + self._maybe_cut(dts, frame.keyframe) + self._drain(newest=dts)

    def add_audio(self, frame: AudioFrame) -> list[Output]:
        if frame.codec != "aac":
            return []
        if frame.is_config:
            if not self.started:
                self._audio_config = frame.data
            return []
        outputs: list[Output] = []
        if not self.started:
            if self._audio_config is None:
                return []
            if "videocodecid" in self.metadata or self._video_config:
                self._early_audio.append(frame)  # may cover the start of the first keyframe's part
                return []
            rate = audio_track(1, self._audio_config).timescale
            outputs.append(self._start(with_video=False, first_dts=round(frame.ts_ms * rate / 1000)))
        if self._audio is None:
            return outputs
        lane = self._audio
        rate = lane.track.timescale
        ticks = round(frame.ts_ms * rate / 1000)
        if self._video is not None and lane.latest is None:
            if (ticks + _AAC_FRAME) * VIDEO_TIMESCALE <= self._first_video_dts * rate:
                return outputs  # ends before the first picture: nothing of it would be played
        dts = lane.place(ticks, step=_AAC_FRAME, max_gap=_MAX_GAP_S * rate, snap=_AAC_FRAME)
        sample = Sample(dts, _AAC_FRAME, KEY_FLAGS, 0, frame.data)
        if self._driver is lane:
            lane.push(sample)
            return outputs + self._maybe_cut(dts, True)
        lane.append(sample)
        return outputs + self._drain(newest=None)

    def finish(self) -> list[Output]:
        """Flush everything and end the playlist; returns [] when the stream never started."""
        if self._driver is None:
            return []
        for lane, default in ((self._video, 3600), (self._audio, _AAC_FRAME)):
            if lane is not None:
                lane.flush(default)
        end = sum((s.duration for s in self._driver.ready), self._part_start)
        if self._driver.ready:
            self._close(end, close_segment=True)
        outputs = self._drain(newest=None, final=True)
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
            self._first_video_dts = first_dts
            track_id += 1
        if self._audio_config is not None:
            self._audio = TrackLane(audio_track(track_id, self._audio_config))
        self._driver = self._video or self._audio
        log.info("live packaging started: %s", ", ".join(t.codec_string for t in self.tracks))
        output = self.settings.init_name, init_segment(self.tracks)
        early, self._early_audio = list(self._early_audio), deque(maxlen=_EARLY_AUDIO)
        for frame in early:
            self.add_audio(frame)
        return output

    def _maybe_cut(self, now: int, keyframe: bool) -> list[Output]:
        driver = self._driver
        if driver is None or not driver.ready:
            return []
        scale = driver.track.timescale
        if keyframe and (now - self._segment_start) / scale + _EPSILON_S >= self.settings.segment_target_s:
            self._close(now, close_segment=True)
            return self._drain(newest=now)
        if keyframe and driver is self._video:  # every keyframe starts a part: players join there
            self._close(now, close_segment=False)
            return self._drain(newest=now)
        next_end = now + max(driver.last_duration, driver.ready[-1].duration)
        if (next_end - self._part_start) / scale > self.settings.part_target_s + _EPSILON_S:
            self._close(now, close_segment=False)
            return self._drain(newest=now)
        return []

    def _close(self, now: int, *, close_segment: bool) -> None:
        """Decide a cut at ``now`` (driver ticks): the driver's ready samples make the part."""
        driver = self._driver
        assert driver is not None
        closed = _Closed(
            driver.ready, self._part_start, now, driver.track.timescale, self._segment_start, close_segment
        )
        driver.ready = []
        self._part_start = now
        if close_segment:
            self._segment_start = now
        self._closed.append(closed)

    def _audio_covers(self, closed: _Closed, newest: int | None) -> bool:
        """Whether the part ``closed`` (cut on video) may go out with the audio there is now."""
        audio = self._audio
        if audio is None or self._driver is audio:
            return True
        rate = audio.track.timescale
        if audio.end is not None and audio.end * closed.scale >= closed.end * rate:
            return True  # the audio reaches the part's end
        heard = audio.end * closed.scale / rate if audio.end is not None else None
        if heard is not None and heard < closed.end - _AUDIO_STALLED_S * closed.scale:
            return True  # the audio has stopped coming: do not hold the video back for it
        waited = (newest - closed.end) / closed.scale if newest is not None else 0.0
        return waited >= self.settings.part_target_s  # held for one more part at most

    def _drain(self, *, newest: int | None, final: bool = False) -> list[Output]:
        """Write the decided parts, in order, whose audio has come (all of them when ``final``)."""
        outputs: list[Output] = []
        while self._closed and (final or self._audio_covers(self._closed[0], newest)):
            closed = self._closed.pop(0)
            if self._driver is self._audio or self._audio is None:
                closed.runs = [(self._driver.track.track_id, closed.samples)] if self._driver else []
            else:
                audio = self._audio
                last = final and not self._closed
                taken = audio.ready if last else audio.take_before(closed.end, closed.scale)
                if last:
                    audio.ready = []
                assert self._video is not None
                closed.runs = [(self._video.track.track_id, closed.samples), (audio.track.track_id, taken)]
            outputs += self._write(closed)
        return outputs

    def _write(self, closed: _Closed) -> list[Output]:
        data = fragment(self._sequence, closed.runs)
        self._sequence += 1
        current = self.playlist.current
        prefix = self.settings.name_prefix
        name = f"{prefix}part{current.msn}.{len(current.parts)}.m4s"
        outputs: list[Output] = [(name, data)]
        self._segment_parts.append(data)
        duration = (closed.end - closed.start) / closed.scale
        self._bytes += len(data)
        self._seconds += duration
        self._parts += 1
        self.playlist.add_part(Part(name, duration, closed.samples[0].is_sync), None)
        if closed.close_segment:
            segment_name = f"{prefix}seg{current.msn}.m4s"
            outputs.append((segment_name, b"".join(self._segment_parts)))
            self.playlist.close_segment(segment_name, (closed.end - closed.segment_start) / closed.scale)
            self._segment_parts = []
            for old in self.playlist.drop_expired():
                self.expired += [p.uri for p in old.parts] + [old.uri or ""]
        building = self.playlist.current
        self.playlist.next_part_uri = f"{prefix}part{building.msn}.{len(building.parts)}.m4s"
        enough = self._parts >= math.ceil(self.playlist.part_hold_back_parts)
        ready = enough and bool(self.playlist.segments)
        if self.variant is None and (ready or self.playlist.ended):
            bandwidth = int(8 * self._bytes / max(self._seconds, 0.001) * 1.2)
            self.variant = Variant.of(self.tracks, bandwidth, self.settings.playlist_name)
        if not self._master_written and self.variant is not None and self.settings.master_name:
            master = render_master(self.tracks, self.variant.bandwidth, self.settings.playlist_name)
            outputs.append((self.settings.master_name, master.encode()))
            self._master_written = True
        outputs.append((self.settings.playlist_name, self.playlist.render().encode()))
        return outputs
