"""``LiveLadder``: a live session's transcoded renditions, each packaged as LL-HLS of its own.

The source H.264 is decoded once, on a thread of its own; each rung (``RungWorker``) scales,
encodes and packages on a thread of its own and writes its files through the session's
``write``. The ingest event loop only queues frames.

Alignment: every rung forces a keyframe on the pictures of the source's keyframes and has no
other, and it is packaged with the source's part and segment targets from the same timestamps,
so all renditions cut the same segments and parts (same media sequence numbers and durations)
and carry the same program date-times (the rung packagers take the source's start time).

Audio: the source's AAC is copied, not re-encoded, into every rung (each rendition is muxed,
as the source rendition is): a player switching renditions needs no separate audio playlist,
and players without alternate-audio support play every rung. It costs the audio's bytes
(about 128 kb/s) once per rung.

Back-pressure: the decoder and each rung read from a ``FrameFeed`` of at most
``rung_queue_frames`` pictures; one that falls behind skips to the next source keyframe
instead of queueing more. A rung that fails is logged and stopped; the source never notices.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import av.error

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live.encoder import MILLISECONDS
from pipelines.live.feed import CLOSED, FrameFeed
from pipelines.live.ladder import live_rungs
from pipelines.live.master import MasterPlaylist
from pipelines.live.packager import LiveSettings
from pipelines.live.rung import RungWorker

__all__ = ["LiveLadder"]

log = logging.getLogger(__name__)

Writer = Callable[[str, bytes], None]
_DEFAULT_FPS = Fraction(30)
_JOIN_S = 30.0
_KEPT_KEYFRAMES = 32


def _fps(metadata: dict[str, Any]) -> Fraction:
    value = metadata.get("framerate") or metadata.get("fps")
    try:
        rate = float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        rate = 0.0
    return Fraction(rate).limit_denominator(1001) if 1 <= rate <= 240 else _DEFAULT_FPS


class LiveLadder:
    """The transcoded rungs of one session; see the module docstring.

    ``started_at`` returns the source packager's start (Unix seconds) for the rungs' program
    date-times; ``master`` hears of each rung's first segment. Feed it from one thread (the
    ingest loop); ``close`` blocks until every rung has written its ended playlist.
    """

    def __init__(
        self,
        settings: LiveSettings,
        write: Writer,
        master: MasterPlaylist,
        *,
        remove: Callable[[str], None] | None = None,
        started_at: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.write = write
        self.remove = remove
        self.master = master
        self.started_at = started_at
        self.metadata: dict[str, Any] = {}
        self.rungs: list[RungWorker] | None = None  # decided from the metadata or the first picture
        self.decoded = 0
        self._config: bytes | None = None
        self._audio_config: AudioFrame | None = None
        self._keyframes: set[int] = set()
        self._seen_keyframe = False
        self._feed: FrameFeed[VideoFrame | AudioFrame] = FrameFeed(settings.rung_queue_frames)
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether this session has rungs, or may still have (decided at the first picture)."""
        return self._thread is not None

    @property
    def renditions(self) -> tuple[str, ...]:
        """The rungs' media playlists, once decided (empty before)."""
        return tuple(worker.packaging.playlist_name for worker in self.rungs or [])

    @property
    def dropped(self) -> int:
        """Source frames and rung pictures left out to catch up, in total."""
        return self._feed.dropped + sum(r.feed.dropped for r in self.rungs or [])

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self.metadata = dict(metadata)

    def feed_video(self, frame: VideoFrame) -> None:
        """Queue a source video frame (H.264 only; the first configuration record is kept)."""
        if frame.codec != "h264":
            return
        if frame.is_config:
            if self._config is None:
                self._config = frame.data
                self._start()
            return
        if self._thread is None or not (self._seen_keyframe or frame.keyframe):
            return
        self._seen_keyframe = True
        self._feed.put(frame, video=True, keyframe=frame.keyframe)

    def feed_audio(self, frame: AudioFrame) -> None:
        if frame.codec != "aac":
            return
        if frame.is_config:
            self._audio_config = self._audio_config or frame
        elif self._thread is not None:
            self._feed.put(frame)

    def _start(self) -> None:
        width, height = int(self.metadata.get("width") or 0), int(self.metadata.get("height") or 0)
        if width and height:
            self._decide(width, height)
            if not self.rungs:
                return
        self._thread = threading.Thread(target=self._decode_loop, name="live-decode", daemon=True)
        self._thread.start()

    def _decide(self, width: int, height: int) -> None:
        rungs = live_rungs(width, height, float(_fps(self.metadata)), self.settings.rungs)
        self.rungs = [
            RungWorker(
                r, self.settings, self.write, self.master, remove=self.remove, started_at=self.started_at
            )
            for r in rungs
        ]
        renditions = (self.settings.playlist_name, *(worker.packaging.playlist_name for worker in self.rungs))
        for worker in self.rungs:
            worker.renditions = renditions
        self.master.expect([r.name for r in rungs])
        log.info("live ladder: %s", ", ".join(f"{r.name} {r.width}x{r.height}" for r in rungs) or "none")

    def close(self) -> None:
        """End the ladder: the queued frames are encoded and every rung's playlist is ended."""
        self._feed.close()
        if self._thread is not None:
            self._thread.join(_JOIN_S)
            if self._thread.is_alive():
                log.warning("live ladder still busy %.0f s after the session closed", _JOIN_S)

    def _decode_loop(self) -> None:
        try:
            self._decode()
        except Exception:  # the ladder must never disturb the source: log and stop the rungs
            log.exception("live ladder decoding failed; the rungs stop here")
        finally:
            for worker in self.rungs or []:
                worker.feed.close()
            for worker in self.rungs or []:
                if worker.thread is not None:
                    worker.thread.join(_JOIN_S)

    def _decode(self) -> None:
        decoder = av.CodecContext.create("h264", "r")
        assert isinstance(decoder, av.VideoCodecContext)
        decoder.extradata = self._config
        decoder.thread_count = 1
        while (item := self._feed.get()) is not CLOSED:
            if isinstance(item, AudioFrame):
                for worker in self.rungs or []:
                    worker.feed.put(item)
            elif isinstance(item, VideoFrame):
                self._decode_frame(decoder, item)
        self._pictures(decoder, None)

    def _decode_frame(self, decoder: av.VideoCodecContext, frame: VideoFrame) -> None:
        packet = av.Packet(frame.data)
        packet.dts, packet.pts, packet.time_base = frame.ts_ms, frame.ts_ms + frame.cts_ms, MILLISECONDS
        if frame.keyframe:
            pts = frame.ts_ms + frame.cts_ms
            if len(self._keyframes) > _KEPT_KEYFRAMES:  # marks of keyframes that never decoded
                self._keyframes = {t for t in self._keyframes if t > pts - 60_000}
            self._keyframes.add(pts)
        self._pictures(decoder, packet)

    def _pictures(self, decoder: av.VideoCodecContext, packet: av.Packet | None) -> None:
        try:
            pictures = decoder.decode(packet)
        except av.error.InvalidDataError:
            log.debug("live ladder: undecodable source frame skipped")
            return
        for picture in pictures:
            self.decoded += 1
            if self.rungs is None:
                self._decide(picture.width, picture.height)
                self._launch()
            elif any(worker.thread is None for worker in self.rungs):
                self._launch()
            keyframe = picture.pts in self._keyframes
            self._keyframes.discard(picture.pts)
            for worker in self.rungs or []:
                worker.feed.put((picture, keyframe), video=True, keyframe=keyframe)

    def _launch(self) -> None:
        fps = _fps(self.metadata)
        for worker in self.rungs or []:
            if worker.thread is None:
                worker.start(fps, self.metadata, self._audio_config)
