"""The platform side of RTMP ingest: the ``rtmp.Authorizer`` backed by the database.

A publish to ``rtmp://HOST:PORT/live/{stream_key}`` is accepted when the key is a stream's current
key. State changes go to ``StreamService.record_state``. When a session ends (``idle``) its FLV
recording is uploaded to ``live/{stream_id}/recordings/{video_id}.flv`` and ``on_recording``
is called (in production wiring: enqueue the ``live.record`` job, which makes the Video).

An ingest that dies cannot report ``idle``. So, given ``StreamLeases``, the authorizer holds a
lease (a key-value entry with a TTL, Redis in production) on each stream from its ``connected``
to its ``idle`` and refreshes them every third of the TTL; the periodic ``live.sweep`` job ends
the live streams whose lease lapsed (``StreamService.end_unheld``) and hands over what their
recording left on disk (``recover_recording``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from control_plane.core.db import new_id
from control_plane.core.kv import KeyValue
from control_plane.live.service import StreamService
from control_plane.live.sinks import StoreLiveSinks
from pipelines.live import seal_recording
from pipelines.sinks import StreamGrant
from rtmp import StreamState
from storage import BlobStore

__all__ = [
    "DatabaseAuthorizer",
    "Recording",
    "LIVE_APP",
    "recording_key",
    "recording_args",
    "StreamLeases",
    "recover_recording",
    "RECORDINGS_DIR",
    "LEASE_TTL_S",
]

log = logging.getLogger(__name__)

LIVE_APP = "live"
#: Recordings shorter than this (seconds) are dropped: nothing worth a video was sent.
MIN_RECORDING_S = 0.5
#: Seconds an ingest's hold on a live stream lasts without a refresh.
LEASE_TTL_S = 10.0
#: The folder, under the data directory, where an ingest appends its sessions' FLV recordings.
RECORDINGS_DIR = "live-recordings"


@dataclass(frozen=True)
class Recording:
    """A finished session's recording in storage. ``duration`` in seconds, ``size`` in bytes."""

    stream_id: str
    video_id: str
    key: str
    size: int
    duration: float


def recording_key(stream_id: str, video_id: str) -> str:
    return f"live/{stream_id}/recordings/{video_id}.flv"


def recording_args(recording: Recording) -> dict[str, Any]:
    """The arguments of the ``live.record`` job that makes ``recording`` a video."""
    return {
        "stream_id": recording.stream_id,
        "video_id": recording.video_id,
        "source_key": recording.key,
        "size": recording.size,
        "duration": recording.duration,
    }


class StreamLeases:
    """Which ingest holds which live stream: ``live:held:{stream_id}`` holds the ingest's id and
    expires ``ttl_s`` seconds after its last refresh. Synchronous (key-value calls)."""

    def __init__(self, kv: KeyValue, *, ttl_s: float = LEASE_TTL_S, holder: str | None = None) -> None:
        self.kv = kv
        self.ttl_s = ttl_s
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @staticmethod
    def key(stream_id: str) -> str:
        return f"live:held:{stream_id}"

    def hold(self, stream_id: str) -> bool:
        """Take or refresh the lease; False when it had lapsed (or another ingest holds it)."""
        token = self.holder.encode()
        if self.kv.compare_and_expire(self.key(stream_id), token, self.ttl_s):
            return True
        self.kv.set(self.key(stream_id), token, ttl=self.ttl_s, only_if_absent=True)
        return False

    def release(self, stream_id: str) -> None:
        self.kv.compare_and_delete(self.key(stream_id), self.holder.encode())

    def held(self, stream_id: str) -> bool:
        """Whether any ingest holds the stream now."""
        return self.kv.get(self.key(stream_id)) is not None

    def held_elsewhere(self, stream_id: str) -> bool:
        """Whether another ingest (another process, or a WHIP publisher) holds the stream now."""
        holder = self.kv.get(self.key(stream_id))
        return holder is not None and holder != self.holder.encode()


def recover_recording(store: BlobStore, work_dir: Path, stream_id: str, *, quiet_s: float) -> Recording | str:
    """Store the newest recording a dead ingest left under ``work_dir/<stream_id>/``.

    Only a file untouched for ``quiet_s`` seconds is taken (a living ingest appends to its file
    many times a second). Returns the stored ``Recording``, or why there is none, in words.
    """
    folder = work_dir / stream_id
    files = sorted(folder.glob("*.flv"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not files:
        return f"no recording of this session under {folder} on this machine"
    path = files[-1]
    if time.time() - path.stat().st_mtime < quiet_s:
        return f"{path} is still being written"
    try:
        duration = seal_recording(path)
        if duration < MIN_RECORDING_S:
            return f"the recording is too short to keep ({duration:.2f} s)"
        video_id = new_id()
        key = recording_key(stream_id, video_id)
        size = store.upload(path, key, content_type="video/x-flv")
    finally:
        path.unlink(missing_ok=True)
    log.info("recording of a lost live session stored", extra={"stream_id": stream_id, "key": key})
    return Recording(stream_id, video_id, key, size, duration)


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
            if not path.exists() or duration < MIN_RECORDING_S:
                log.info("live session of %s too short to keep (%.2f s)", stream_id, duration)
                return
            video_id = new_id()
            key = recording_key(stream_id, video_id)
            size = self.store.upload(path, key, content_type="video/x-flv")
            self.on_recording(Recording(stream_id, video_id, key, size, duration))
            log.info("live recording stored", extra={"stream_id": stream_id, "key": key, "bytes": size})
        finally:
            path.unlink(missing_ok=True)
