"""WebRTC for live streams in a process that holds media: the WHEP relays of its live sessions,
its WHIP sessions, and the answering side of the WebRTC signalling.

A ``WebRtcNode`` runs aiortc on an event loop thread of its own, whatever loop feeds it (the
RTMP server's, or the API's for WHIP). It is a ``StoreLiveSinks`` tap: every live session of its
ingest gets a ``WhepRelay`` here. WHEP offers and session deletions reach the node over pub/sub
(``control_plane.live.signalling``): any API process may receive them, and the node holding the
stream answers. On the embedded default the pub/sub is in-process and so is all of this.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from control_plane.core.pubsub import PubSub
from control_plane.live import REQUESTS, Reply
from pipelines.frames import AudioFrame, VideoFrame
from pipelines.sinks import MediaSink, StreamGrant
from pipelines.webrtc import RelayLimits, WebRtcError, WhepRelay
from pipelines.webrtc.whip import WhipReceiver, WhipSettings

__all__ = ["WebRtcNode", "WhipSession"]

log = logging.getLogger(__name__)

#: Media calls a relay may have queued before new ones are dropped (its loop is stalled).
HANDOFF_LIMIT = 600
START_TIMEOUT_S = 10.0
#: Seconds between reports of each connected WHEP viewer (a third of the viewer counter's bucket).
SEEN_EVERY_S = 5.0


class _Handoff:
    """Implements ``rtmp.MediaSink`` on the caller's loop by queueing each call, in order, for a
    relay on the node's loop. The relay never slows the caller down."""

    def __init__(self, node: WebRtcNode, relay: WhepRelay) -> None:
        self.node, self.relay = node, relay
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        self.dropped = 0
        node.loop.call_soon_threadsafe(self._begin)

    def _begin(self) -> None:
        self._queue = asyncio.Queue()
        self.node.adopt(self.relay)
        task = self.node.loop.create_task(self._pump())
        self.node.tasks.add(task)
        task.add_done_callback(self.node.tasks.discard)

    def _put(self, item: tuple[str, Any]) -> None:
        assert self._queue is not None
        if item[0] != "close" and self._queue.qsize() >= HANDOFF_LIMIT:
            self.dropped += 1
            return
        self._queue.put_nowait(item)

    async def _pump(self) -> None:
        assert self._queue is not None
        relay = self.relay
        while True:
            kind, item = await self._queue.get()
            try:
                if kind == "video":
                    await relay.on_video(item)
                elif kind == "audio":
                    await relay.on_audio(item)
                else:
                    await relay.on_close()
                    return
            except Exception:  # the relay of one stream must not end the node: log, keep pumping
                log.exception("WHEP relay of %s failed on %s", relay.stream_id, kind)
            finally:
                if kind == "close":
                    self.node.forget(relay)

    async def on_metadata(self, metadata: dict[str, Any]) -> None:
        return None

    async def on_video(self, frame: VideoFrame) -> None:
        self.node.loop.call_soon_threadsafe(self._put, ("video", frame))

    async def on_audio(self, frame: AudioFrame) -> None:
        self.node.loop.call_soon_threadsafe(self._put, ("audio", frame))

    async def on_close(self) -> None:
        self.node.loop.call_soon_threadsafe(self._put, ("close", None))


class WhipSession:
    """One WHIP publisher held by this node: its stream and its receiver."""

    def __init__(self, session_id: str, stream_id: str, receiver: WhipReceiver) -> None:
        self.id, self.stream_id, self.receiver = session_id, stream_id, receiver


class WebRtcNode:
    """aiortc on its own loop thread: relays by stream id, WHIP sessions by id, and the
    subscriber that answers signalling requests for what it holds. ``start`` before use."""

    def __init__(
        self,
        pubsub: PubSub,
        limits: RelayLimits | None = None,
        whip: WhipSettings | None = None,
        seen: Callable[[str, str], None] | None = None,
    ) -> None:
        """``seen(stream_id, viewer)`` is called (on a worker thread) every ``SEEN_EVERY_S`` for
        each connected WHEP viewer, so they count among the stream's viewers."""
        self.pubsub = pubsub
        self.seen = seen
        self.limits = limits or RelayLimits()
        self.whip_settings = whip or WhipSettings(ice_servers=self.limits.ice_servers)
        self.relays: dict[str, WhepRelay] = {}
        self.whip: dict[str, WhipSession] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="webrtc", daemon=True)
        self._serving: concurrent.futures.Future[None] | None = None

    # -- life --------------------------------------------------------------------------------------

    def start(self) -> WebRtcNode:
        """Start the loop thread and subscribe to signalling requests (returns once subscribed)."""
        self._thread.start()
        ready = threading.Event()

        async def subscribed() -> None:
            flag = asyncio.Event()
            task = asyncio.ensure_future(self._serve(flag))
            counting = asyncio.ensure_future(self._count_viewers())
            await flag.wait()
            ready.set()
            try:
                await task
            finally:
                counting.cancel()

        self._serving = asyncio.run_coroutine_threadsafe(subscribed(), self.loop)
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the WebRTC node could not subscribe to signalling in time")
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """End every WHIP session (their sinks closed) and every viewer, then the loop."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            await asyncio.gather(
                *(s.receiver.close() for s in list(self.whip.values())), return_exceptions=True
            )
            for relay in list(self.relays.values()):
                await relay.on_close()
            if self._serving is not None:
                self._serving.cancel()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout_s)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout_s)
            if not self._thread.is_alive():
                self.loop.close()

    def submit(self, coro: Awaitable[Any]) -> concurrent.futures.Future[Any]:
        """Run ``coro`` on the node's loop (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    # -- relays (a StoreLiveSinks tap) ---------------------------------------------------------

    def __call__(self, grant: StreamGrant) -> MediaSink:
        """The tap: a WHEP relay for this live session, fed through a handoff to the node's loop."""
        return _Handoff(self, WhepRelay(grant.stream_id, self.limits))

    def adopt(self, relay: WhepRelay) -> None:
        old = self.relays.get(relay.stream_id)
        self.relays[relay.stream_id] = relay
        if old is not None and old is not relay:
            self._spawn(old.on_close())

    def forget(self, relay: WhepRelay) -> None:
        if self.relays.get(relay.stream_id) is relay:
            del self.relays[relay.stream_id]

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _count_viewers(self) -> None:
        """Report each connected viewer once it connects, then every ``SEEN_EVERY_S``."""
        if self.seen is None:
            return
        reported: dict[str, float] = {}
        while True:
            await asyncio.sleep(1.0)
            now = self.loop.time()
            watching = {
                viewer.id: relay.stream_id
                for relay in list(self.relays.values())
                for viewer in list(relay.viewers.values())
                if viewer.pc.connectionState == "connected"
            }
            reported = {viewer: at for viewer, at in reported.items() if viewer in watching}
            for viewer_id, stream_id in watching.items():
                if now - reported.get(viewer_id, -SEEN_EVERY_S) < SEEN_EVERY_S:
                    continue
                try:
                    await asyncio.to_thread(self.seen, stream_id, f"whep:{viewer_id}")
                except Exception:  # a key-value outage must not stop the relays; counts are best effort
                    log.warning("WHEP viewer of %s could not be counted", stream_id, exc_info=True)
                    break
                reported[viewer_id] = now

    # -- WHIP ------------------------------------------------------------------------------------

    async def open_whip(
        self,
        stream_id: str,
        offer: str,
        sink: MediaSink,
        on_media: Callable[[], Awaitable[None]],
        on_end: Callable[[], Awaitable[None]],
    ) -> tuple[str, str]:
        """On the node's loop: answer a publisher's offer, its media going to ``sink``; returns
        (session id, SDP answer). The session is forgotten once it ends."""
        session_id = secrets.token_urlsafe(16)

        async def ended() -> None:
            self.whip.pop(session_id, None)
            await on_end()

        receiver = WhipReceiver(sink, self.whip_settings, on_media=on_media, on_end=ended)
        answer = await receiver.open(offer)
        self.whip[session_id] = WhipSession(session_id, stream_id, receiver)
        log.info("WHIP session %s publishing %s", session_id, stream_id)
        return session_id, answer

    # -- signalling ------------------------------------------------------------------------------

    async def _serve(self, ready: asyncio.Event) -> None:
        async for message in self.pubsub.subscribe(REQUESTS, ready):
            try:
                request = json.loads(message)
            except ValueError:
                log.warning("malformed WebRTC signalling request dropped")
                continue
            if self._holds(request):
                self._spawn(self._answer(request))

    def _holds(self, request: dict[str, Any]) -> bool:
        stream_id, op = request.get("stream"), request.get("op")
        if op == "whip_delete":
            session = self.whip.get(str(request.get("session")))
            return session is not None and session.stream_id == stream_id
        return isinstance(stream_id, str) and stream_id in self.relays

    async def _answer(self, request: dict[str, Any]) -> None:
        try:
            reply = Reply(ok=True, **await self._perform(request))
        except WebRtcError as exc:
            reply = Reply(ok=False, code=exc.code, detail=str(exc))
        except Exception:  # the requester must hear something, not wait out its timeout
            log.exception("WebRTC signalling request %s failed", request.get("op"))
            reply = Reply(
                ok=False, code="WEBRTC_UNAVAILABLE", detail="The media server failed on this request."
            )
        await asyncio.to_thread(self.pubsub.publish, str(request.get("reply")), reply.dump())

    async def _perform(self, request: dict[str, Any]) -> dict[str, str]:
        op, stream_id = request.get("op"), str(request.get("stream"))
        if op == "whep_offer":
            viewer_id, answer = await self.relays[stream_id].open_viewer(str(request.get("sdp", "")))
            return {"session": viewer_id, "sdp": answer}
        if op == "whep_delete":
            await self.relays[stream_id].close_viewer(str(request.get("session")))
            return {}
        if op == "whip_delete":
            session = self.whip.get(str(request.get("session")))
            if session is not None:
                await session.receiver.close()
            return {}
        raise ValueError(f"unknown WebRTC signalling operation {op!r}")
