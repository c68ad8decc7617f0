"""The sink factory that writes LL-HLS into blob storage, under ``live/{stream_id}/hls/``.

The FLV recording of each session goes to a local working folder (it is appended frame by frame)
and is handed over, once the session is closed, by ``take``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from control_plane.live import content_type, hls_prefix
from pipelines.live import LiveSettings, LiveSink, Tap, TeeSink
from pipelines.sinks import MediaSink, StreamGrant
from storage import BlobStore

__all__ = ["StoreLiveSinks"]

log = logging.getLogger(__name__)


class StoreLiveSinks:
    """A ``rtmp.SinkFactory``: one ``LiveSink`` per live session, writing to ``store``.

    Files leaving the playlist's sliding window are deleted from the store, and a new session
    starts on an empty prefix. ``work_dir`` holds
    the recordings (``<stream_id>/<n>.flv``) until ``take`` hands them over. Each of ``taps``
    may add a sink of its own to a session (see ``TeeSink``); taps can be added before sessions start.
    """

    def __init__(
        self,
        store: BlobStore,
        work_dir: Path,
        settings: LiveSettings | None = None,
        taps: list[Tap] | None = None,
    ) -> None:
        self.store = store
        self.taps: list[Tap] = list(taps or [])
        self.work_dir = work_dir
        self.settings = settings
        self.sinks: dict[str, LiveSink] = {}
        self._sessions = 0

    def __call__(self, grant: StreamGrant) -> MediaSink:
        stream_id = grant.stream_id
        prefix = hls_prefix(stream_id)
        self._sessions += 1
        folder = self.work_dir / stream_id
        folder.mkdir(parents=True, exist_ok=True)
        # A new session numbers its segments from 0 again: the last session's files must not linger.
        removed = self.store.delete_prefix(prefix)
        if removed:
            log.info("removed %d live files of the previous session of %s", removed, stream_id)

        def write(name: str, data: bytes) -> None:
            # Live files are worthless after a crash (the session restarts on an empty prefix).
            self.store.put(prefix + name, data, content_type=content_type(name), durable=False)

        def remove(name: str) -> None:
            self.store.delete(prefix + name)

        sink = LiveSink(write, folder / f"{self._sessions}.flv", self.settings, remove)
        self.sinks[stream_id] = sink
        extra = [made for tap in self.taps if (made := tap(grant)) is not None]
        return TeeSink(sink, extra) if extra else sink

    def take(self, stream_id: str) -> LiveSink | None:
        """Forget and return the stream's closed sink (its recording is the caller's now)."""
        sink = self.sinks.get(stream_id)
        if sink is None or not sink.closed:
            return None
        del self.sinks[stream_id]
        return sink
