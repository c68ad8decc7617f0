"""The RTMP (and WHIP) ingest's ``rtmp.Authorizer``, over the live domain's services.

A publish to ``rtmp://HOST:PORT/live/{stream_key}`` is accepted when the key is a stream's current
key and no other ingest holds the stream. State changes go to ``StreamService.record_state``.
When a session ends (``idle``) its FLV recording is stored (``store_recording``) and
``on_recording`` is called (in production wiring: ``RecordingService.hand_over``, which enqueues
the ``live.record`` job that makes the Video).

Given ``StreamLeases``, the authorizer holds a lease on each stream from its ``connected`` to its
``idle`` and refreshes them every third of the TTL, so the periodic ``live.sweep`` job ends the
streams of an ingest that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from control_plane.live import Recording, StreamLeases, StreamService, store_recording
from pipelines.sinks import StreamGrant
from rtmp import StreamState
from storage import BlobStore
from workers.live.sinks import StoreLiveSinks

__all__ = ["DatabaseAuthorizer", "LIVE_APP"]

log = logging.getLogger(__name__)

#: The RTMP application publishers name: ``rtmp://HOST:PORT/live/{stream_key}``.
LIVE_APP = "live"


class DatabaseAuthorizer:
    """Implements ``rtmp.Authorizer`` over ``StreamService``; hands recordings to ``on_recording``."""

    def __init__(
        self,
        streams: StreamService,
        store: BlobStore,
        sinks: StoreLiveSinks,
        on_recording: Callable[[Recording], None],
        leases: StreamLeases | None = None,
    ) -> None:
        self.streams = streams
        self.store = store
        self.sinks = sinks
        self.on_recording = on_recording
        self.leases = leases
        self._held: set[str] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    async def authorize(self, app: str, stream_key: str) -> StreamGrant | None:
        if app != LIVE_APP:
            return None
        stream_id = await asyncio.to_thread(self.streams.find_by_key, stream_key)
        if stream_id is None:
            log.info("live publish refused: unknown key", extra={"app": app})
            return None
        if self.leases is not None and await asyncio.to_thread(self.leases.held_elsewhere, stream_id):
            # One publisher per stream across ingests: a WHIP session or another RTMP process has it.
            log.info("live publish refused: stream %s is held by another ingest", stream_id)
            return None
        return StreamGrant(stream_id)

    async def state_changed(self, stream_id: str, state: StreamState) -> None:
        try:
            if state != "idle":
                await self._hold(stream_id)  # before ``live`` is recorded: a sweep never sees it unheld
            await asyncio.to_thread(self.streams.record_state, stream_id, state)
            if state == "idle":
                await asyncio.to_thread(self._hand_over, stream_id)
        except Exception:  # the ingest must keep serving other streams; the failure is logged
            log.exception("live state %s of stream %s could not be recorded", state, stream_id)
        finally:
            if state == "idle":
                await self._release(stream_id)

    async def _hold(self, stream_id: str) -> None:
        if self.leases is None or stream_id in self._held:
            return
        self._held.add(stream_id)
        try:
            await asyncio.to_thread(self.leases.hold, stream_id)
        except Exception:  # the heartbeat tries again; the stream must go live regardless
            log.exception("lease of live stream %s could not be taken", stream_id)
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat(self.leases))

    async def _release(self, stream_id: str) -> None:
        if self.leases is None or stream_id not in self._held:
            return
        self._held.discard(stream_id)
        try:
            await asyncio.to_thread(self.leases.release, stream_id)
        except Exception:  # the lease lapses by itself; the sweep then finds the stream ended
            log.exception("lease of live stream %s could not be released", stream_id)
        if not self._held and self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    async def _beat(self, leases: StreamLeases) -> None:
        """Refresh every held lease each third of the TTL; when one had lapsed, a sweep may have
        ended its stream while the key-value store was out of reach: it is revived."""
        while self._held:
            await asyncio.sleep(leases.ttl_s / 3)
            for stream_id in list(self._held):
                try:
                    if not await asyncio.to_thread(leases.hold, stream_id):
                        log.warning("lease of live stream %s had lapsed; taken again", stream_id)
                        await asyncio.to_thread(self.streams.revive, stream_id)
                except Exception:  # a key-value outage: try again at the next beat
                    log.exception("lease of live stream %s could not be refreshed", stream_id)

    def _hand_over(self, stream_id: str) -> None:
        sink = self.sinks.take(stream_id)
        if sink is None:
            return
        path, duration = sink.recording_path, sink.recorder.duration_s
        try:
            recording = store_recording(self.store, stream_id, path, duration) if path.exists() else None
            if recording is None:
                log.info("live session of %s too short to keep (%.2f s)", stream_id, duration)
                return
            self.on_recording(recording)
            log.info(
                "live recording stored",
                extra={"stream_id": stream_id, "key": recording.key, "bytes": recording.size},
            )
        finally:
            path.unlink(missing_ok=True)
