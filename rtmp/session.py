"""One RTMP connection: the NetConnection/NetStream commands of a publisher, then its media.

The session parses and checks, then delegates: stream keys go to the ``Authorizer`` (through the
registry), media goes to the live session's ``MediaSink``. Nothing here touches files or codecs.
Any ``RtmpError`` ends this connection only; ``run`` logs it and never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from pipelines import amf0
from pipelines.errors import AmfError as MalformedAmf
from rtmp import control, netstatus
from rtmp.chunks import ChunkReader, ChunkWriter, Message
from rtmp.errors import AmfError, ProtocolError, PublishRefused, RtmpError, StreamBusy, Timeout
from rtmp.handshake import server_handshake
from rtmp.limits import RtmpLimits
from rtmp.registry import LiveRegistry, LiveSession
from rtmp.tags import parse_audio, parse_video

__all__ = ["RtmpSession"]

log = logging.getLogger(__name__)

_MAX_STREAMS = 8


def _decode(payload: bytes) -> list[Any]:
    """The AMF0 values of a command or data message; ``AmfError`` (this connection's end) if any is bad."""
    try:
        return amf0.decode(payload)
    except MalformedAmf as exc:
        raise AmfError(str(exc)) from exc


class RtmpSession:
    """Serves one accepted TCP connection until it closes."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        registry: LiveRegistry,
        limits: RtmpLimits,
    ):
        self.reader = reader
        self.writer = writer
        self.registry = registry
        self.limits = limits
        self.peer = str(writer.get_extra_info("peername"))
        self.chunks = ChunkReader(
            reader,
            max_message_size=limits.max_message_size,
            max_chunk_streams=limits.max_chunk_streams,
            max_buffered=limits.max_buffered_bytes,
        )
        self.out = ChunkWriter()
        self.app: str | None = None
        self.streams: set[int] = set()
        self.live: LiveSession | None = None
        self.publish_stream_id = 0
        self.peer_window = 0
        self.acked = 0
        self.got_media = False
        self.published = False

    async def run(self) -> None:
        """Handshake, then handle messages until the peer leaves or breaks a rule.

        A publisher that drops without unpublishing leaves its live session in the reconnect
        window; an unpublish (``FCUnpublish``, ``deleteStream``, ``closeStream``) ends it at once
        while the connection stays open for the client to close.
        """
        try:
            await server_handshake(self.reader, self.writer, self.limits.handshake_timeout_s)
            await self._serve()
        except RtmpError as exc:
            log.warning("rtmp %s: closing connection: %s (%s)", self.peer, exc.detail, exc.code)
        except (asyncio.IncompleteReadError, ConnectionError):
            log.info("rtmp %s: connection closed by peer", self.peer)
        except Exception:
            log.exception("rtmp %s: closing connection after an unexpected error", self.peer)
        finally:
            await self._unpublish(clean=False)
            self.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)

    async def _serve(self) -> None:
        deadline = time.monotonic() + self.limits.publish_timeout_s
        while True:
            timeout = self.limits.idle_timeout_s
            waiting = not self.published
            if waiting:
                timeout = min(timeout, deadline - time.monotonic())
            try:
                async with asyncio.timeout(max(timeout, 0)):
                    message = await self.chunks.read_message()
            except TimeoutError as exc:
                raise Timeout(f"no {'publish' if waiting else 'data'} within {timeout:.1f} s") from exc
            await self._acknowledge()
            await self._dispatch(message)

    async def _unpublish(self, *, clean: bool) -> None:
        if self.live is not None:
            live, self.live = self.live, None
            await self.registry.release(live, clean=clean)

    async def _send(self, *messages: Message) -> None:
        for message in messages:
            self.writer.write(self.out.encode(message))
            if message.type_id == control.SET_CHUNK_SIZE and message.stream_id == 0:
                self.out.chunk_size = control.parse_u32(message.payload, "Set Chunk Size")
        try:
            async with asyncio.timeout(self.limits.idle_timeout_s):
                await self.writer.drain()
        except TimeoutError as exc:
            raise Timeout("peer does not read what the server sends") from exc

    async def _acknowledge(self) -> None:
        received = self.chunks.bytes_received
        if self.peer_window and received - self.acked >= self.peer_window:
            self.acked = received
            await self._send(control.acknowledgement(received))

    async def _dispatch(self, message: Message) -> None:
        kind = message.type_id
        if kind in (control.COMMAND_AMF0, control.COMMAND_AMF3):
            payload = message.payload[1:] if kind == control.COMMAND_AMF3 else message.payload
            await self._command(message.stream_id, _decode(payload))
        elif kind in (control.VIDEO, control.AUDIO):
            await self._media(message)
        elif kind == control.DATA_AMF0:
            await self._data(message, _decode(message.payload))
        elif kind == control.WINDOW_ACK_SIZE:
            self.peer_window = control.parse_u32(message.payload, "Window Acknowledgement Size")
        elif kind == control.USER_CONTROL:
            event, value = control.parse_user_control(message.payload)
            if event == control.PING_REQUEST:
                await self._send(control.user_control(control.PING_RESPONSE, value))
        else:
            log.debug("rtmp %s: ignoring message type %d", self.peer, kind)

    async def _command(self, stream_id: int, args: list[Any]) -> None:
        if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], float):
            raise ProtocolError("command without a name and transaction id")
        name, txn = args[0], args[1]
        if name == "connect":
            await self._connect(txn, args[2] if len(args) > 2 else None)
        elif self.app is None:
            raise ProtocolError(f"{name!r} before connect")
        elif name == "createStream":
            if len(self.streams) >= _MAX_STREAMS:
                raise ProtocolError(f"more than {_MAX_STREAMS} streams created")
            new_id = len(self.streams) + 1
            self.streams.add(new_id)
            await self._send(netstatus.result(txn, float(new_id)))
        elif name == "publish":
            await self._publish(stream_id, txn, args[3] if len(args) > 3 else None)
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            if txn and name == "FCUnpublish":
                await self._send(netstatus.result(txn, amf0.UNDEFINED))
            if self.live is not None:
                log.info("rtmp %s: unpublished (%s)", self.peer, name)
            await self._unpublish(clean=True)
        elif name in ("releaseStream", "FCPublish"):
            if txn:
                await self._send(netstatus.result(txn, amf0.UNDEFINED))
        elif name in ("play", "play2"):
            await self._send(netstatus.on_status(stream_id, "error", "NetStream.Play.Failed", "ingest only"))
            raise PublishRefused("play is not served: this is an ingest server")
        elif txn:
            await self._send(netstatus.call_failed(txn, name))

    async def _connect(self, txn: float, command: Any) -> None:
        if self.app is not None:
            raise ProtocolError("second connect on one connection")
        if not isinstance(command, dict) or not isinstance(command.get("app"), str):
            raise ProtocolError("connect without an app name")
        self.app = command["app"].split("?", 1)[0].strip("/")
        log.info("rtmp %s: connect app=%r", self.peer, self.app)
        await self._send(
            control.window_ack_size(self.limits.window_ack_size),
            control.set_peer_bandwidth(self.limits.window_ack_size),
            control.set_chunk_size(self.limits.out_chunk_size),
        )
        await self._send(netstatus.connect_result(txn))

    async def _publish(self, stream_id: int, txn: float, name: Any) -> None:
        if self.live is not None:
            raise ProtocolError("second publish on one connection")
        if stream_id not in self.streams or not isinstance(name, str) or not name:
            raise ProtocolError("publish without a created stream and a stream name")
        key = name.split("?", 1)[0]
        app = self.app or ""
        try:
            async with asyncio.timeout(self.limits.authorize_timeout_s):
                grant = await self.registry.authorizer.authorize(app, key)
        except TimeoutError as exc:
            raise Timeout("authorizer did not answer in time") from exc
        refusal: RtmpError | None = None
        if grant is None:
            refusal = PublishRefused(f"stream key refused for app {app!r}")
        else:
            try:
                self.live = await self.registry.acquire(grant, self)
            except StreamBusy as exc:
                refusal = exc
        if refusal is not None:
            await self._send(netstatus.publish_refused(stream_id, refusal.detail))
            raise refusal
        assert grant is not None
        self.publish_stream_id = stream_id
        self.published, self.got_media = True, False
        log.info("rtmp %s: publishing stream %s", self.peer, grant.stream_id)
        await self._send(control.user_control(control.STREAM_BEGIN, stream_id))
        await self._send(netstatus.publish_started(stream_id, key))

    def _published(self, message: Message) -> LiveSession | None:
        """The live session media goes to; None (drop) after an unpublish; never before publish."""
        if self.live is None and not self.published:
            raise ProtocolError(f"message type {message.type_id} before an accepted publish")
        return self.live

    async def _data(self, message: Message, values: list[Any]) -> None:
        live = self._published(message)
        if live is None:
            return
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            await live.sink.on_metadata(dict(values[1]))

    async def _media(self, message: Message) -> None:
        live = self._published(message)
        if live is None or message.stream_id != self.publish_stream_id:
            return
        if message.type_id == control.VIDEO:
            video = parse_video(message.payload, message.timestamp)
            if video is not None:
                await self._first_media(live)
                await live.sink.on_video(replace(video, ts_ms=live.rebase(video.ts_ms, video.cts_ms)))
            return
        audio = parse_audio(message.payload, message.timestamp)
        if audio is not None:
            await self._first_media(live)
            await live.sink.on_audio(replace(audio, ts_ms=live.rebase(audio.ts_ms)))

    async def _first_media(self, live: LiveSession) -> None:
        if not self.got_media:
            self.got_media = True
            await self.registry.report(live.grant.stream_id, "live")
