"""``RungWorker``: one rung of a live ladder at work, on a thread of its own.

It reads pictures (with the source's keyframe marks) and AAC frames from its ``FrameFeed``,
encodes the pictures (``RungEncoder``), packages everything with an ``LlHlsPackager`` named after
the rung (``720p.m3u8``, ``720p-init.mp4``, ``720p-part{msn}.{i}.m4s``, ``720p-seg{msn}.m4s``)
and writes the files through the session's ``write``. It tells the ``MasterPlaylist`` of its
first segment, or that it failed before one. A failure is logged and stops this rung alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from typing import Any

from pipelines.frames import AudioFrame
from pipelines.live.encoder import RungEncoder
from pipelines.live.feed import CLOSED, FrameFeed
from pipelines.live.ladder import LiveRung
from pipelines.live.master import MasterPlaylist
from pipelines.live.packager import LiveSettings, LlHlsPackager, Output

__all__ = ["RungWorker", "rung_settings"]

log = logging.getLogger(__name__)


def rung_settings(settings: LiveSettings, rung: LiveRung) -> LiveSettings:
    """The packaging settings of ``rung``: the source's targets, the rung's file names."""
    return replace(
        settings,
        playlist_name=f"{rung.name}.m3u8",
        init_name=f"{rung.name}-init.mp4",
        name_prefix=f"{rung.name}-",
        master_name="",
        ladder=False,
    )


class RungWorker:
    """Encodes and packages ``rung``. ``settings`` are the session's (the ladder's options and the
    packaging targets); ``started_at`` returns the source's start (Unix seconds), so that every
    rendition carries the same program date-times."""

    def __init__(
        self,
        rung: LiveRung,
        settings: LiveSettings,
        write: Callable[[str, bytes], None],
        master: MasterPlaylist,
        *,
        remove: Callable[[str], None] | None = None,
        started_at: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.rung = rung
        self.settings = settings
        self.packaging = rung_settings(settings, rung)
        self.write = write
        self.master = master
        self.remove = remove
        self.started_at = started_at
        self.feed: FrameFeed[Any] = FrameFeed(settings.rung_queue_frames)
        self.packager: LlHlsPackager | None = None
        self.thread: threading.Thread | None = None
        self.failed: str | None = None
        self.files = 0
        self._reported = False
        #: Every rendition's media playlist (the source's and the rungs'), for rendition reports.
        self.renditions: tuple[str, ...] = ()

    def start(self, fps: Fraction, metadata: dict[str, Any], audio_config: AudioFrame | None) -> None:
        """Run on a new thread; ``fps`` guides rate control, ``audio_config`` the AAC track."""
        self.thread = threading.Thread(
            target=self._run,
            args=(fps, metadata, audio_config),
            name=f"live-rung-{self.rung.name}",
            daemon=True,
        )
        self.thread.start()

    def _run(self, fps: Fraction, metadata: dict[str, Any], audio_config: AudioFrame | None) -> None:
        try:
            self._work(fps, metadata, audio_config)
        except Exception as exc:  # one rung failing must not stop the others or the source
            self.failed = str(exc) or type(exc).__name__
            self.feed.close()
            if not self._reported:
                self.master.drop(self.rung.name)
            log.exception("live rung %s failed; the other renditions go on", self.rung.name)

    def _work(self, fps: Fraction, metadata: dict[str, Any], audio_config: AudioFrame | None) -> None:
        rung = self.rung
        encoder = RungEncoder(rung, fps, preset=self.settings.rung_preset, threads=self.settings.rung_threads)
        packager = self.packager = LlHlsPackager(
            self.packaging, clock=lambda: self.started_at() or time.time()
        )
        packager.playlist.reports = tuple(n for n in self.renditions if n != self.packaging.playlist_name)
        packager.set_metadata({**metadata, "width": rung.width, "height": rung.height})
        if audio_config is not None:
            self._emit(packager.add_audio(audio_config))
        self._emit(packager.add_video(encoder.config_frame()))
        while (item := self.feed.get()) is not CLOSED:
            if isinstance(item, AudioFrame):
                self._emit(packager.add_audio(item))
            elif isinstance(item, tuple):
                picture, keyframe = item
                for frame in encoder.encode(picture, keyframe=keyframe):
                    self._emit(packager.add_video(frame))
        for frame in encoder.flush():
            self._emit(packager.add_video(frame))
        self._emit(packager.finish())

    def _emit(self, outputs: list[Output]) -> None:
        packager = self.packager
        assert packager is not None
        for name, data in outputs:
            self.write(name, data)
            self.files += 1
        if not self._reported and packager.variant is not None:
            self._reported = True
            self.master.rung(self.rung.name, packager.variant)
        if self.remove is not None and packager.expired:
            expired, packager.expired = packager.expired, []
            for name in expired:
                self.remove(name)
