"""Wiring the RTMP ingest to the platform, and running it on a thread of its own.

``build_ingest(services)`` makes the authorizer and sink factory from the process's services;
``RtmpThread`` serves them on a background event loop (``socialflow serve`` and tests), while
``socialflow rtmp`` runs ``rtmp.run`` in the foreground.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from control_plane.core.settings import ConfigError, Settings
from control_plane.live import (
    RECORDINGS_DIR,
    IceConfig,
    RecordingService,
    StreamLeases,
    StreamService,
    ViewerCounter,
)
from control_plane.services import Services
from pipelines.live import LiveSettings
from pipelines.webrtc import RelayLimits
from rtmp import RtmpLimits, RtmpServer
from workers.live.authorizer import DatabaseAuthorizer
from workers.live.sinks import StoreLiveSinks
from workers.live.webrtc import WebRtcNode

__all__ = ["Ingest", "build_ingest", "rtmp_limits", "RtmpThread"]

log = logging.getLogger(__name__)


@dataclass
class Ingest:
    authorizer: DatabaseAuthorizer
    sinks: StoreLiveSinks
    #: Relays every live session to WHEP viewers and holds WHIP sessions; stopped with the ingest.
    webrtc: WebRtcNode | None = None
    #: The RTMP server's bounds (``SOCIALFLOW_RTMP_MAX_*``).
    limits: RtmpLimits = field(default_factory=RtmpLimits)


def build_ingest(services: Services, settings: LiveSettings | None = None, *, webrtc: bool = True) -> Ingest:
    """The authorizer and sink factory over ``services``; recordings enqueue ``live.record``.
    ``settings`` default to ``SOCIALFLOW_LIVE_*``: part and segment lengths, the part hold-back,
    the ladder's rungs.
    With ``webrtc``, a started ``WebRtcNode`` taps every session and answers WHEP requests."""
    streams = StreamService(services.db, events=services.events, peaks=ViewerCounter(services.kv).peak)
    config = services.settings
    rungs = tuple(config.live_rungs)
    settings = settings or LiveSettings(
        part_target_s=config.live_part_seconds,
        segment_target_s=config.live_segment_seconds,
        part_hold_back_parts=config.live_part_hold_back,
        ladder=bool(rungs),  # no rungs: passthrough only
        rungs=rungs,
    )
    sinks = StoreLiveSinks(services.store, services.settings.data_dir / RECORDINGS_DIR, settings)
    limits = RelayLimits(
        max_viewers=services.settings.webrtc_max_viewers,
        ice_servers=IceConfig.from_settings(services.settings).servers,
    )
    node = (
        WebRtcNode(services.pubsub, limits, seen=ViewerCounter(services.kv).seen).start() if webrtc else None
    )
    if node is not None:
        sinks.taps.append(node)
    recordings = RecordingService(services.db, services.store, services.jobs.enqueue, services.videos)
    leases = StreamLeases(services.kv)  # ended by the live.sweep job if this process dies
    authorizer = DatabaseAuthorizer(streams, services.store, sinks, recordings.hand_over, leases)
    return Ingest(authorizer, sinks, node, rtmp_limits(config))


def rtmp_limits(settings: Settings) -> RtmpLimits:
    """The RTMP server's connection caps from ``SOCIALFLOW_RTMP_MAX_*``; the other bounds keep
    their defaults."""
    return RtmpLimits(
        max_connections=settings.rtmp_max_connections,
        max_connections_per_address=settings.rtmp_max_connections_per_address,
        max_unauthenticated=settings.rtmp_max_unauthenticated,
    )


class RtmpThread:
    """An ``RtmpServer`` on its own event loop thread. ``port`` is the bound port after ``start``;
    ``limits`` default to the ingest's (the settings')."""

    def __init__(self, host: str, port: int, ingest: Ingest, limits: RtmpLimits | None = None) -> None:
        self.ingest = ingest
        self.loop = asyncio.new_event_loop()
        self.server = RtmpServer(host, port, ingest.authorizer, ingest.sinks, limits or ingest.limits)
        self._thread = threading.Thread(target=self.loop.run_forever, name="rtmp-ingest", daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self, timeout_s: float = 10.0) -> RtmpThread:
        """Bind and serve; raises ``ConfigError`` (one line for the operator) when the address is
        taken or cannot be bound."""
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout_s)
        except OSError as exc:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout_s)
            self.loop.close()
            if self.ingest.webrtc is not None:
                self.ingest.webrtc.stop()
            raise ConfigError(
                f"cannot listen for RTMP on {self.server.host}:{self.server.port}: {exc.strerror or exc} "
                "(set SOCIALFLOW_RTMP_PORT)"
            ) from exc
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """End every live session (sinks closed, recordings handed over), then the loop."""
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout_s)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout_s)
            self.loop.close()
            if self.ingest.webrtc is not None:
                self.ingest.webrtc.stop()
