"""Email digests: once a day or once a week, in each person's time zone, what they have not read
and were not mailed at once.

The ``notifications.digests`` job runs every ``SOCIALFLOW_NOTIFICATION_DIGEST_INTERVAL`` seconds
and looks at the inboxes with something new and unread since their last digest. A digest is due
from ``SOCIALFLOW_NOTIFICATION_DIGEST_HOUR`` o'clock local time, once a local day (``daily``) or
once seven days have passed since the last (``weekly``; the first goes out the first morning
there is something to tell). The inbox's ``digested_up_to`` moves before the mail is posted, so
two runs never send the same digest twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from control_plane.core.db import Database
from control_plane.core.mail import Outbox
from control_plane.notifications.inbox import _shown, views
from control_plane.notifications.mail import Composer, recipients
from control_plane.notifications.models import Inbox, Notification, NotificationPreferences
from control_plane.notifications.preferences import DEFAULT_DIGEST, Preferences, zone

__all__ = ["Digests", "due"]

log = logging.getLogger(__name__)

#: Lines a digest lists; the rest are counted.
MAX_LINES = 20
BATCH = 500
WEEK = timedelta(days=7)


def due(now: datetime, prefs: Preferences, sent_at: datetime | None, hour: int) -> bool:
    """Whether a digest of ``prefs.digest`` frequency is due at ``now``."""
    if prefs.digest == "off":
        return False
    tz = zone(prefs.time_zone)
    local = now.astimezone(tz)
    if local.hour < hour:
        return False
    if sent_at is None:
        return True
    if prefs.digest == "daily":
        return sent_at.astimezone(tz).date() < local.date()
    return now - sent_at >= WEEK - timedelta(hours=1)


class Digests:
    def __init__(self, db: Database, composer: Composer, outbox: Outbox, *, hour: int = 8) -> None:
        self.db = db
        self.composer = composer
        self.outbox = outbox
        self.hour = hour

    def run(self, now: datetime) -> int:
        """Post every digest due at ``now``; returns how many were posted."""
        if not self.outbox.configured:
            return 0
        posted, after = 0, ""
        while True:
            with self.db.session() as session:
                newer = sa.exists().where(
                    Notification.user_id == Inbox.user_id,
                    Notification.id > Inbox.read_up_to,
                    Notification.id > Inbox.digested_up_to,
                )
                rows = session.execute(
                    sa.select(Inbox, NotificationPreferences)
                    .outerjoin(NotificationPreferences, NotificationPreferences.user_id == Inbox.user_id)
                    .where(
                        Inbox.user_id > after,
                        sa.func.coalesce(NotificationPreferences.digest, DEFAULT_DIGEST) != "off",
                        newer,
                    )
                    .order_by(Inbox.user_id)
                    .limit(BATCH)
                ).all()
                session.expunge_all()
            if not rows:
                return posted
            after = rows[-1][0].user_id
            for inbox, row in rows:
                prefs = Preferences.of(row)
                if due(now, prefs, inbox.digest_sent_at, self.hour):
                    posted += self._one(inbox.user_id, prefs, now)

    def _one(self, user_id: str, prefs: Preferences, now: datetime) -> int:
        with self.db.session(exclusive=True) as session:
            inbox = session.get(Inbox, user_id, with_for_update=True)
            if inbox is None:
                return 0
            start = max(inbox.read_up_to, inbox.digested_up_to)
            rows = session.scalars(
                sa.select(Notification)
                .where(Notification.user_id == user_id, Notification.id > start, _shown(user_id))
                .order_by(Notification.id.desc())
            ).all()
            if not rows:
                return 0
            inbox.digested_up_to = rows[0].id
            inbox.digest_sent_at = now
            rest = [r for r in rows if not prefs.wants(r.type, "email")]  # the others were mailed at once
            lines = [v["text"] for v in views(session, rest[:MAX_LINES], user_id, inbox.read_up_to)]
            to = recipients(session, [user_id]).get(user_id)
        if not rest or to is None:
            return 0
        mail = self.composer.digest(to, lines, max(len(rest) - MAX_LINES, 0), prefs.digest)
        try:
            self.outbox.post(mail, subject=f"user:{user_id}")
        except Exception:
            log.exception("digest of user %s could not be queued", user_id)
            return 0
        return 1
