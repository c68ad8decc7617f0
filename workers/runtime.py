"""What an actor needs at run time (settings, database, blob store), set once per process at boot.

Actors receive only JSON arguments, so the process's entry point configures this context and actors
read it. Tests and the embedded ``serve`` configure it with the same objects the API uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import dramatiq

from control_plane.contentid import ClaimService
from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.kv import KeyValue, MemoryKeyValue
from control_plane.core.pubsub import PubSub, open_pubsub
from control_plane.core.settings import Settings
from control_plane.feed import FeedService, build_feed, subscribe_feed
from control_plane.jobs import enqueue
from control_plane.jobs.models import Job
from control_plane.jobs.processes import process_name
from control_plane.notifications import Notifications
from control_plane.payments.domain import Payments, build_payments
from control_plane.services import notifications_service, video_service
from control_plane.videos import VideoService
from storage import BlobStore

__all__ = ["WorkerContext", "configure", "current", "reset", "worker_name"]


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    store: BlobStore
    kv: KeyValue = field(default_factory=MemoryKeyValue)
    #: Where actors enqueue follow-up jobs (the parts of a chunked transcode).
    broker: dramatiq.Broker | None = None
    #: Where new notifications reach the API processes' WebSockets: the API's own on the
    #: embedded default (in-process), else one opened on ``SOCIALFLOW_REDIS_URL``.
    pubsub: PubSub | None = None

    def enqueue(self, kind: str, **options: Any) -> Job:
        """Enqueue a follow-up job on this process's broker (see ``control_plane.jobs.enqueue``)."""
        if self.broker is None:
            raise RuntimeError(f"this worker has no broker to enqueue {kind} on")
        return enqueue(self.db, self.broker, kind, **options)

    @cached_property
    def events(self) -> EventHub:
        """This process's events hub: what jobs change is announced here (a video ready or
        published, a claim made), and the notifications domain and the feed listen."""
        hub = EventHub()
        subscribe_feed(hub, self.feed)
        self.__dict__["notifications"] = notifications_service(
            self.settings,
            self.db,
            self.pubsub or open_pubsub(self.settings.redis_url),
            self.enqueue,
            hub,
            self.kv,
        )
        return hub

    @cached_property
    def notifications(self) -> Notifications:
        _ = self.events  # builds the domain with its intake subscribed
        built: Notifications = self.__dict__["notifications"]
        return built

    @cached_property
    def videos(self) -> VideoService:
        """The video domain's service, whose follow-up jobs go to this process's broker."""
        return video_service(self.db, self.enqueue, self.store, events=self.events)

    @cached_property
    def payments(self) -> Payments:
        """The payments domain of this process: its events (a payout sent by ``payouts.run``) reach
        this process's hub, where the notifications intake hears them."""
        return build_payments(self.db, self.settings, self.events)

    @cached_property
    def feed(self) -> FeedService:
        """The home feed (its timelines shared with the API on the embedded default)."""
        return build_feed(self.settings, self.db, self.kv, self.store, self.enqueue)

    @cached_property
    def claims(self) -> ClaimService:
        return ClaimService(self.db, self.enqueue, self.videos, events=self.events)


_context: WorkerContext | None = None


def configure(context: WorkerContext) -> WorkerContext:
    global _context
    _context = context
    return context


def current() -> WorkerContext:
    if _context is None:
        raise RuntimeError("worker context is not configured; start workers through `socialflow worker`")
    return _context


def reset() -> None:
    global _context
    _context = None


def worker_name() -> str:
    """host:pid:token of this worker process, recorded on each job it runs (a new token each start)."""
    return process_name()
