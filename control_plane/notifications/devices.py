"""Devices to push to, and pushing to them: the subscriptions' one writer, and the
``notifications.push`` job's work.

A push that a device's push service answers 404 or 410 removes that subscription. One that fails
otherwise (a 5xx, a timeout, a service that is down) is tried again by the job with backoff, for
the devices that failed only, and given up after the job's attempts, recorded on the job and on
the subscription (``failures``, ``last_error``). No producer waits for any of this.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from control_plane.accounts.models import User
from control_plane.core.db import Database, new_id, utcnow
from control_plane.core.errors import NotFound, ServiceUnavailable, Unprocessable
from control_plane.notifications import preferences
from control_plane.notifications.kinds import KINDS, sentence
from control_plane.notifications.models import PushSubscription
from control_plane.notifications.push import Device, PushGone, PushMessage, PushRetry, PushSender

__all__ = ["DeviceService", "PushOutcome", "PushNotConfigured", "Pusher"]

log = logging.getLogger(__name__)

PLATFORMS = ("webpush", "fcm", "apns")


class PushNotConfigured(ServiceUnavailable):
    code = "PUSH_NOT_CONFIGURED"


class InvalidSubscription(Unprocessable):
    code = "INVALID_PUSH_SUBSCRIPTION"


def _hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def _key(value: str, size: int, name: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise InvalidSubscription(f"keys.{name} is not base64url.") from exc
    if len(raw) != size:
        raise InvalidSubscription(f"keys.{name} must be {size} bytes.")
    return value


class DeviceService:
    """Push subscriptions: at most ``max_devices`` per user (the oldest goes); Web Push endpoints
    must be https, except on ``insecure_hosts``."""

    def __init__(
        self,
        db: Database,
        *,
        platforms: Sequence[str],
        insecure_hosts: Sequence[str] = (),
        max_devices: int = 20,
    ) -> None:
        self.db = db
        self.platforms = tuple(platforms)
        self.insecure_hosts = tuple(insecure_hosts)
        self.max_devices = max_devices

    def add(
        self,
        user_id: str,
        kind: str,
        endpoint: str,
        *,
        p256dh: str | None = None,
        auth: str | None = None,
        user_agent: str | None = None,
    ) -> PushSubscription:
        """Register (or move to this user, or renew the keys of) one device."""
        if kind not in self.platforms:
            raise InvalidSubscription(
                f"This server does not push to {kind} devices.", code="PUSH_PLATFORM_UNAVAILABLE"
            )
        if kind == "webpush":
            parts = urlsplit(endpoint)
            secure = parts.scheme == "https" or (
                parts.scheme == "http" and parts.hostname in self.insecure_hosts
            )
            if not secure or not parts.hostname:
                raise InvalidSubscription(
                    "A push endpoint must be an https URL.", code="INSECURE_PUSH_ENDPOINT"
                )
            if p256dh is None or auth is None:
                raise InvalidSubscription("A Web Push subscription needs keys.p256dh and keys.auth.")
            p256dh, auth = _key(p256dh, 65, "p256dh"), _key(auth, 16, "auth")
        digest = _hash(endpoint)
        with self.db.session(exclusive=True) as session:
            row = session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
            if row is None:
                row = PushSubscription(
                    id=new_id(), endpoint=endpoint, endpoint_hash=digest, created_at=utcnow()
                )
                session.add(row)
            row.user_id, row.kind, row.p256dh, row.auth = user_id, kind, p256dh, auth
            row.user_agent = (user_agent or "")[:255] or None
            row.failures, row.last_error = 0, None
            session.flush()
            extra = session.scalars(
                sa.select(PushSubscription.id)
                .where(PushSubscription.user_id == user_id)
                .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
                .offset(self.max_devices)
            ).all()
            if extra:
                session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(extra)))
            session.flush()
            session.expunge(row)
            return row

    def remove(self, user_id: str, endpoint: str) -> None:
        """Forget the user's device at ``endpoint``; 404 if they have none there."""
        with self.db.session() as session:
            gone = session.execute(
                sa.delete(PushSubscription).where(
                    PushSubscription.endpoint_hash == _hash(endpoint), PushSubscription.user_id == user_id
                )
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise NotFound(
                    "No push subscription of yours has this endpoint.", code="PUSH_SUBSCRIPTION_NOT_FOUND"
                )

    def of(self, user_id: str) -> list[PushSubscription]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    sa.select(PushSubscription)
                    .where(PushSubscription.user_id == user_id)
                    .order_by(PushSubscription.created_at.desc())
                )
            )
            session.expunge_all()
            return rows


@dataclass
class PushOutcome:
    sent: int = 0
    gone: int = 0
    #: (item, subscription ids whose send may succeed later)
    retry: list[tuple[dict[str, Any], list[str]]] | None = None


def topic(item: Mapping[str, Any]) -> str | None:
    """RFC 8030 ``Topic`` for a grouping type: a newer count replaces an undelivered older one."""
    if not KINDS[item["type"]].groups:
        return None
    key = f"{item['user']}:{item['type']}:{item['subject'][0]}:{item['subject'][1]}"
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()).decode()[:32]


class Pusher:
    """The push job's work: ``senders`` by subscription kind."""

    def __init__(self, db: Database, senders: Mapping[str, PushSender]) -> None:
        self.db = db
        self.senders = dict(senders)

    def run(
        self, items: Sequence[dict[str, Any]], devices: Sequence[Sequence[str] | None] | None = None
    ) -> PushOutcome:
        """Push each item to its recipient's devices (only ``devices[i]`` for item ``i`` when given)."""
        outcome = PushOutcome(retry=[])
        users = {i["user"] for i in items}
        with self.db.session() as session:
            subs = list(
                session.scalars(sa.select(PushSubscription).where(PushSubscription.user_id.in_(users)))
            )
            prefs = preferences.load(session, users)
            actors = {i["actor"] for i in items if i.get("actor")}
            names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(actors))).all())
            session.expunge_all()
        by_user: dict[str, list[PushSubscription]] = {}
        for sub in subs:
            by_user.setdefault(sub.user_id, []).append(sub)
        sent_ok: list[str] = []
        failed: dict[str, str] = {}
        gone: list[str] = []
        for index, item in enumerate(items):
            only = devices[index] if devices is not None else None
            targets = [s for s in by_user.get(item["user"], []) if only is None or s.id in only]
            message = self._message(item, prefs[item["user"]], names.get(item.get("actor") or ""))
            again = []
            for sub in targets:
                sender = self.senders.get(sub.kind)
                if sender is None:
                    continue
                try:
                    sender.send(Device(sub.kind, sub.endpoint, sub.p256dh, sub.auth), message)
                except PushGone as exc:
                    log.info("push subscription %s is gone: %s", sub.id, exc.detail)
                    gone.append(sub.id)
                except PushRetry as exc:
                    failed[sub.id] = exc.detail or "push failed"
                    again.append(sub.id)
                else:
                    sent_ok.append(sub.id)
            if again:
                assert outcome.retry is not None
                outcome.retry.append((item, again))
        outcome.sent, outcome.gone = len(sent_ok), len(gone)
        self._record(sent_ok, failed, gone)
        return outcome

    @staticmethod
    def _message(item: Mapping[str, Any], prefs: preferences.Preferences, actor: str | None) -> PushMessage:
        kind = KINDS[item["type"]]
        if prefs.push_previews:
            body: dict[str, Any] = {
                "id": item.get("id"),
                "type": item["type"],
                "text": sentence(item["type"], actor, 0, item["subject"][0]),
                "subject": {"type": item["subject"][0], "id": item["subject"][1]},
            }
        else:  # the person chose that nothing of who or what shows on a lock screen
            body = {"id": item.get("id"), "type": "notification", "text": "You have a new notification"}
        return PushMessage(json.dumps(body, separators=(",", ":")), kind.ttl, kind.urgency, topic(item))

    def _record(self, sent: list[str], failed: dict[str, str], gone: list[str]) -> None:
        if not (sent or failed or gone):
            return
        with self.db.session() as session:
            if gone:
                session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(gone)))
            if sent:
                session.execute(
                    sa.update(PushSubscription)
                    .where(PushSubscription.id.in_(sent))
                    .values(last_success_at=utcnow(), failures=0, last_error=None)
                )
            for sub_id, error in failed.items():
                session.execute(
                    sa.update(PushSubscription)
                    .where(PushSubscription.id == sub_id)
                    .values(failures=PushSubscription.failures + 1, last_error=error[:255])
                )
