"""Notifications: in-app inboxes, real time over WebSockets, Web Push and email, as each person prefers.

Events on the hub (``intake``) become rows of the ``mailbox``, which ``notifications.drain``
jobs take whatever process wrote them; the job (``service``) makes
the notifications, publishes them to the API processes' WebSockets (``stream``), and asks for
pushes (``devices``: the ``notifications.push`` job) and mails (``mail``; ``digests`` for the
rest). ``build_notifications`` puts the parts together for a process; the API and the workers
build theirs from the same settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from control_plane.core.db import Database
from control_plane.core.kv import KeyValue
from control_plane.core.mail import Outbox
from control_plane.core.pubsub import PubSub
from control_plane.core.settings import Settings
from control_plane.notifications.devices import DeviceService, Pusher, PushNotConfigured
from control_plane.notifications.digests import Digests
from control_plane.notifications.events import NotificationRequested
from control_plane.notifications.inbox import Inboxes
from control_plane.notifications.intake import SOURCES, Intake, items_of, subscribe
from control_plane.notifications.mail import Composer, Mailbag, UnsubscribeTokens
from control_plane.notifications.mailbox import Mailbox
from control_plane.notifications.preferences import Preferences, PreferenceService
from control_plane.notifications.push import ApnsSender, FcmSender, PushSender, WebPushSender
from control_plane.notifications.push.mobile import ApnsSettings
from control_plane.notifications.service import NotificationService
from control_plane.notifications.stream import Dispatcher
from control_plane.notifications.vapid import public_key, subject, vapid_key

__all__ = [
    "SOURCES",
    "Intake",
    "Mailbox",
    "NotificationRequested",
    "Notifications",
    "Preferences",
    "PushNotConfigured",
    "build_notifications",
    "channel_name",
    "items_of",
    "subscribe",
]

log = logging.getLogger(__name__)


def channel_name(settings: Settings) -> str:
    """The pub/sub channel of new notifications: one per Redis database, so deployments (or test
    runs) sharing a Redis server on different databases keep apart."""
    database = urlsplit(settings.redis_url).path.strip("/") if settings.redis_url else ""
    return f"notifications:{database or '0'}"


@dataclass
class Notifications:
    """The domain's parts for one process."""

    settings: Settings
    service: NotificationService
    inboxes: Inboxes
    preferences: PreferenceService
    devices: DeviceService
    tokens: UnsubscribeTokens
    composer: Composer
    outbox: Outbox
    dispatcher: Dispatcher
    #: The events hub's subscriber (``subscribe(events, notifications.intake)``).
    intake: Intake
    #: Where the intakes of every process leave their batches for ``notifications.drain``.
    mailbox: Mailbox
    _senders: dict[str, PushSender] | None = field(default=None, repr=False)

    @cached_property
    def vapid_public_key(self) -> str | None:
        key = vapid_key(self.settings)
        return public_key(key) if key is not None else None

    def senders(self) -> dict[str, PushSender]:
        """The push senders this server is configured for (made on first use)."""
        if self._senders is None:
            self._senders = open_senders(self.settings)
        return self._senders

    @cached_property
    def pusher(self) -> Pusher:
        return Pusher(self.service.db, self.senders())

    @cached_property
    def digests(self) -> Digests:
        return Digests(
            self.service.db, self.composer, self.outbox, hour=self.settings.notification_digest_hour
        )

    def close(self) -> None:
        self.intake.close()
        self.dispatcher.close()


def open_senders(settings: Settings) -> dict[str, PushSender]:
    senders: dict[str, PushSender] = {}
    key = vapid_key(settings)
    if key is not None:
        senders["webpush"] = WebPushSender(key, subject(settings), timeout=settings.push_timeout)
    if settings.fcm_credentials is not None:
        senders["fcm"] = FcmSender(settings.fcm_credentials, timeout=settings.push_timeout)
    if settings.apns:
        apns = settings.apns
        senders["apns"] = ApnsSender(
            ApnsSettings(
                key_file=Path(str(apns["key_file"])),
                key_id=str(apns["key_id"]),
                team_id=str(apns["team_id"]),
                topic=str(apns["topic"]),
                sandbox=bool(apns.get("sandbox", False)),
            ),
            timeout=settings.push_timeout,
        )
    return senders


def platforms(settings: Settings) -> list[str]:
    """The kinds of devices this server can push to, without opening anything."""
    found = []
    if settings.vapid_private_key or settings.embedded:
        found.append("webpush")
    if settings.fcm_credentials is not None:
        found.append("fcm")
    if settings.apns:
        found.append("apns")
    return found


def build_notifications(
    settings: Settings, db: Database, pubsub: PubSub, enqueue: Callable[..., object], kv: KeyValue
) -> Notifications:
    """The domain for one process; ``kv`` holds the mailbox's drain gate (shared by every process
    of a deployment: Redis, or the one in-process store of the embedded default)."""
    previous = tuple(s.encode() for s in settings.previous_secret_keys)
    tokens = UnsubscribeTokens(settings.secret_bytes, previous)
    composer = Composer(settings.effective_public_url, tokens)
    outbox = Outbox(settings, enqueue)
    channel = channel_name(settings)
    mailbox = Mailbox(
        db,
        kv,
        enqueue,
        gate_ttl=settings.notification_drain_gate_ttl,
        linger=settings.notification_drain_linger,
    )
    service = NotificationService(
        db,
        pubsub,
        enqueue,
        channel=channel,
        fanout_batch=settings.notification_fanout_batch,
        mails=Mailbag(db, composer, outbox),
    )
    return Notifications(
        settings=settings,
        service=service,
        inboxes=service.inboxes,
        preferences=PreferenceService(db),
        devices=DeviceService(
            db,
            platforms=platforms(settings),
            insecure_hosts=settings.push_insecure_hosts,
            max_devices=settings.push_max_devices,
        ),
        tokens=tokens,
        composer=composer,
        outbox=outbox,
        dispatcher=Dispatcher(pubsub, channel),
        intake=Intake(mailbox.post, window=settings.notification_intake_window),
        mailbox=mailbox,
    )
