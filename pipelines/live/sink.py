"""``LiveSink``: the ``pipelines.sinks.MediaSink`` that records a live session and serves it as LL-HLS.

Each frame goes to the FLV recording (a local file) and to the ``LlHlsPackager`` of the source
rendition; the files the packager returns are handed, in order, to ``write(name, data)``, run in
a worker thread so a slow blob store never stalls the ingest event loop. ``remove(name)``, when
given, is called for files that left the sliding window. ``playlist`` is the latest media
playlist text of the source, for ``wait_for_part`` to answer blocking reloads in process.

With ``LiveSettings.ladder`` on, an H.264 session also feeds a ``LiveLadder`` (transcoded rungs
on threads of their own, written through the same ``write``), and the multivariant playlist
(``MasterPlaylist``) lists the source and every rung. The recording stays the source alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live.master import MasterPlaylist
from pipelines.live.packager import LiveSettings, LlHlsPackager, Output
from pipelines.live.playlist import wait_for_part
from pipelines.live.recording import FlvRecorder
from pipelines.live.transcoder import LiveLadder
from pipelines.sinks import StreamGrant

__all__ = ["LiveSink", "LocalLiveSinks", "local_writer"]

log = logging.getLogger(__name__)

Writer = Callable[[str, bytes], None]


def local_writer(directory: Path) -> Writer:
    """A ``write`` callback storing files in ``directory``, each replaced atomically."""
    directory.mkdir(parents=True, exist_ok=True)

    def write(name: str, data: bytes) -> None:
        temporary = directory / f".{name}.tmp"
        temporary.write_bytes(data)
        temporary.replace(directory / name)

    return write


class LiveSink:
    """Implements ``pipelines.sinks.MediaSink`` for one live session."""

    def __init__(
        self,
        write: Writer,
        recording_path: Path,
        settings: LiveSettings | None = None,
        remove: Callable[[str], None] | None = None,
    ):
        settings = settings or LiveSettings()
        self.write = write
        self.remove = remove
        self.packager = LlHlsPackager(replace(settings, master_name=""))
        self.master = MasterPlaylist(write, settings.master_name)
        self.ladder: LiveLadder | None = None
        if settings.ladder and settings.rungs:
            self.ladder = LiveLadder(
                settings,
                write,
                self.master,
                remove=remove,
                started_at=lambda: self.packager.playlist.started_at,
            )
        self.recorder = FlvRecorder(recording_path)
        self.playlist: str | None = None
        self.closed = False  # True once the recording and the ended playlist are written
        self._closing = False
        self._master_known = False

    @property
    def recording_path(self) -> Path:
        return self.recorder.path

    async def _emit(self, outputs: list[Output]) -> None:
        if self.ladder is not None and not self.packager.playlist.reports:
            self.packager.playlist.reports = self.ladder.renditions  # once the rungs are known
        for name, data in outputs:
            await asyncio.to_thread(self.write, name, data)
            if name == self.packager.settings.playlist_name:
                self.playlist = data.decode()
        variant = self.packager.variant
        if variant is not None and (not self._master_known or self.master.writes == 0):
            if not self._master_known and (self.ladder is None or not self.ladder.running):
                self.master.expect([])  # no ladder for this session: the source alone
            self._master_known = True
            await asyncio.to_thread(self.master.source, variant, self.packager.playlist.current.msn)
        if self.remove is not None and self.packager.expired:
            expired, self.packager.expired = self.packager.expired, []
            for name in expired:
                await asyncio.to_thread(self.remove, name)

    async def on_metadata(self, metadata: dict[str, Any]) -> None:
        self.packager.set_metadata(metadata)
        self.recorder.set_metadata(metadata)
        if self.ladder is not None:
            self.ladder.set_metadata(metadata)

    async def on_video(self, frame: VideoFrame) -> None:
        self.recorder.write_video(frame)
        if self.ladder is not None:
            self.ladder.feed_video(frame)
        await self._emit(self.packager.add_video(frame))

    async def on_audio(self, frame: AudioFrame) -> None:
        self.recorder.write_audio(frame)
        if self.ladder is not None:
            self.ladder.feed_audio(frame)
        await self._emit(self.packager.add_audio(frame))

    async def on_close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.recorder.close()
        await self._emit(self.packager.finish())
        if self.ladder is not None:
            await asyncio.to_thread(self.ladder.close)
        await asyncio.to_thread(self.master.finish)
        self.closed = True
        log.info("live session closed: %.1f s recorded to %s", self.recorder.duration_s, self.recorder.path)

    async def wait_for_part(self, msn: int | None, part: int | None, timeout_s: float) -> str:
        """The playlist once it holds ``msn``/``part`` (see ``playlist.wait_for_part``)."""
        return await wait_for_part(lambda: self.playlist, msn, part, timeout_s=timeout_s)


class LocalLiveSinks:
    """A ``SinkFactory`` for local files: ``root/<stream_id>/hls/`` and ``root/<stream_id>/recording.flv``.

    ``sinks`` keeps the newest sink of each stream id, so an HTTP layer in the same process can
    answer blocking playlist reloads with ``sinks[stream_id].wait_for_part(...)``.
    """

    def __init__(self, root: Path, settings: LiveSettings | None = None, *, prune: bool = True):
        self.root = root
        self.settings = settings
        self.prune = prune
        self.sinks: dict[str, LiveSink] = {}

    def __call__(self, grant: StreamGrant) -> LiveSink:
        folder = self.root / grant.stream_id
        hls = folder / "hls"
        remove = (lambda name: (hls / name).unlink(missing_ok=True)) if self.prune else None
        sink = LiveSink(local_writer(hls), folder / "recording.flv", self.settings, remove)
        self.sinks[grant.stream_id] = sink
        return sink
