"""Reading an inbox: its pages, newest first, the unread count, marking read, and what a
reconnecting client missed; and publishing each new notification to the WebSockets.

What is shown is decided when it is read, too: a notification whose every actor is now hidden
from its recipient (blocked either way, or muted) is not shown nor counted, and a group counts
and names only the actors still visible.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts.models import User
from control_plane.core.db import Database
from control_plane.core.pubsub import PubSub
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.notifications.kinds import sentence
from control_plane.notifications.models import Inbox, Notification, NotificationActor
from control_plane.social.audience import hidden_from, hidden_pairs, hides

__all__ = ["Inboxes", "UNREAD_CAP", "unread_counts"]

log = logging.getLogger(__name__)

#: Unread counts stop here ("999+" is what a badge shows anyway).
UNREAD_CAP = 999
NEWEST = Order("newest", (Notification.id,))
#: Actors named in a grouped notification's ``actors``.
SHOWN_ACTORS = 3
#: Notifications a reconnecting client is sent at most; it reads the rest from the list.
CATCH_UP = 200


def _shown(viewer_id: Any) -> sa.ColumnElement[bool]:
    """Notifications with no actor (a video ready), or with at least one actor visible to the viewer
    (a user id, or a column holding one: each row's own recipient)."""
    actors = sa.select(NotificationActor.notification_id).where(
        NotificationActor.notification_id == Notification.id
    )
    if isinstance(viewer_id, str):
        visible = actors.where(NotificationActor.actor_id.not_in(hidden_from(viewer_id)))
    else:
        # Per row, probes of the keys of the notification's actors, blocks and mutes. OFFSET 0
        # keeps PostgreSQL from hashing the visible actors of every notification there is.
        visible = actors.where(~hides(viewer_id, NotificationActor.actor_id)).offset(0)
    return sa.or_(~actors.exists(), visible.exists())


def _read_up_to(session: Session, user_id: str) -> int:
    return session.scalar(sa.select(Inbox.read_up_to).where(Inbox.user_id == user_id)) or 0


def unread_counts(session: Session, user_ids: Iterable[str]) -> dict[str, int]:
    """Each user's unread notifications that are shown, up to ``UNREAD_CAP``: one statement for
    them all (each inbox's count is a scalar subquery over its own unread range)."""
    users = sorted(set(user_ids))
    if not users:
        return {}
    unread = (
        sa.select(Notification.id)
        .where(
            Notification.user_id == Inbox.user_id,
            Notification.id > Inbox.read_up_to,
            _shown(Inbox.user_id),
        )
        .correlate(Inbox)
        .limit(UNREAD_CAP)
        .subquery()
    )
    count = sa.select(sa.func.count()).select_from(unread).scalar_subquery()
    found = dict(session.execute(sa.select(Inbox.user_id, count).where(Inbox.user_id.in_(users))).all())
    missing = [u for u in users if u not in found]
    for user_id in missing:  # no inbox row yet: nothing was ever read
        unread_all = (
            sa.select(Notification.id)
            .where(Notification.user_id == user_id, _shown(user_id))
            .limit(UNREAD_CAP)
            .subquery()
        )
        found[user_id] = session.scalar(sa.select(sa.func.count()).select_from(unread_all)) or 0
    return {u: int(found[u] or 0) for u in users}


def views(
    session: Session, rows: Sequence[Notification], viewer_id: str, read_up_to: int
) -> list[dict[str, Any]]:
    """The API's form of ``rows`` (all ``viewer_id``'s), with their visible actors."""
    ids = [r.id for r in rows]
    actors: dict[int, list[dict[str, str]]] = defaultdict(list)
    if ids:
        found = session.execute(
            sa.select(NotificationActor.notification_id, User.id, User.username)
            .join(User, User.id == NotificationActor.actor_id)
            .where(
                NotificationActor.notification_id.in_(ids),
                NotificationActor.actor_id.not_in(hidden_from(viewer_id)),
            )
            .order_by(NotificationActor.at.desc(), User.id)
        )
        for notification_id, user_id, username in found:
            actors[notification_id].append({"id": user_id, "username": username})
    return [_view(row, actors.get(row.id, []), read_up_to) for row in rows]


def views_for_many(
    session: Session, rows: Sequence[Notification], read_up_to: Mapping[str, int]
) -> list[dict[str, Any]]:
    """``views`` of rows of many recipients at once (each seen by its own recipient): two
    statements whatever their number, the actors and which of them are hidden from whom."""
    ids = [r.id for r in rows]
    actors: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if ids:
        found = session.execute(
            sa.select(NotificationActor.notification_id, User.id, User.username)
            .join(User, User.id == NotificationActor.actor_id)
            .where(NotificationActor.notification_id.in_(ids))
            .order_by(NotificationActor.at.desc(), User.id)
        )
        for notification_id, user_id, username in found:
            actors[notification_id].append((user_id, username))
    recipient = {r.id: r.user_id for r in rows}
    hidden = hidden_pairs(session, {(recipient[n], a) for n, who in actors.items() for a, _ in who})
    out = []
    for row in rows:
        who = [
            {"id": a, "username": name}
            for a, name in actors.get(row.id, [])
            if (row.user_id, a) not in hidden
        ]
        out.append(_view(row, who, read_up_to.get(row.user_id, 0)))
    return out


def _view(row: Notification, who: list[dict[str, str]], read_up_to: int) -> dict[str, Any]:
    first = who[0] if who else None
    count = max(len(who), 1)
    return {
        "id": row.id,
        "type": row.type,
        "actor": first,
        "actors": who[:SHOWN_ACTORS],
        "subject": {"type": row.subject_type, "id": row.subject_id},
        "context": {"type": row.context_type, "id": row.context_id} if row.context_type else None,
        "count": count,
        "read": row.id <= read_up_to,
        "created_at": row.created_at.isoformat(),
        "text": sentence(row.type, first["username"] if first else None, count - 1, row.subject_type),
        "data": row.data or {},
    }


class Inboxes:
    """Reads inboxes and marks them read; publishes on ``pubsub``'s ``channel``."""

    def __init__(self, db: Database, pubsub: PubSub, channel: str) -> None:
        self.db = db
        self.pubsub = pubsub
        self.channel = channel

    def page(
        self, user_id: str, page: PageParams, *, unread: bool = False
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the inbox, newest first (only the unread ones with ``unread``)."""
        with self.db.session() as session:
            read = _read_up_to(session, user_id)
            query = cast(
                "sa.Select[Any]",
                sa.select(Notification, Notification.id).where(
                    Notification.user_id == user_id, _shown(user_id)
                ),
            )
            if unread:
                query = query.where(Notification.id > read)
            rows, cursor = keyset_page(session, query, NEWEST, page)
            return views(session, [r[0] for r in rows], user_id, read), cursor

    def since(self, user_id: str, after: int, limit: int = CATCH_UP) -> list[dict[str, Any]]:
        """What a reconnecting client missed: the notifications after id ``after``, oldest first."""
        with self.db.session() as session:
            read = _read_up_to(session, user_id)
            rows = session.scalars(
                sa.select(Notification)
                .where(Notification.user_id == user_id, Notification.id > after, _shown(user_id))
                .order_by(Notification.id.desc())
                .limit(limit)
            ).all()
            return views(session, list(reversed(rows)), user_id, read)

    def unread(self, user_id: str) -> int:
        with self.db.session() as session:
            return unread_counts(session, [user_id])[user_id]

    def mark_read(self, user_id: str, up_to: int) -> int:
        """Everything up to id ``up_to`` is read (never beyond the newest there is, so a later
        notification is not read before it exists); returns the unread count."""
        with self.db.session(exclusive=True) as session:
            newest = session.scalar(
                sa.select(sa.func.max(Notification.id)).where(Notification.user_id == user_id)
            )
            target = min(up_to, newest or 0)
            inbox = session.get(Inbox, user_id, with_for_update=True)
            if inbox is None:
                inbox = Inbox(user_id=user_id, read_up_to=0, digested_up_to=0)
                session.add(inbox)
            inbox.read_up_to = max(inbox.read_up_to or 0, target)
            session.flush()
            count = unread_counts(session, [user_id])[user_id]
        self._publish({"user": user_id, "event": "unread", "unread": count})
        return count

    def messages(
        self,
        session: Session,
        made: Sequence[tuple[Notification, int | None]],
        read_up_to: Mapping[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        """What to publish of each new notification (in the session that made them, before its
        commit): the notification as its recipient sees it, with their unread count. A few
        statements for the whole batch, whatever the number of recipients."""
        if not made:
            return []
        users = {row.user_id for row, _ in made}
        counts = unread_counts(session, users)
        if read_up_to is None:
            query = sa.select(Inbox.user_id, Inbox.read_up_to).where(Inbox.user_id.in_(users))
            read_up_to = dict(session.execute(query).all())
        shown = views_for_many(session, [row for row, _ in made], read_up_to)
        return [
            {
                "user": row.user_id,
                "event": "notification",
                "notification": view,
                "unread": counts[row.user_id],
                "replaces": replaced,
            }
            for view, (row, replaced) in zip(shown, made, strict=True)
        ]

    def publish(self, messages: Sequence[dict[str, Any]]) -> None:
        """Publish each message to its recipient's WebSockets (call it after the commit): each
        encoded once, all in one round trip to Redis."""
        if not messages:
            return
        try:
            self.pubsub.publish_many(self.channel, [json.dumps(m, separators=(",", ":")) for m in messages])
        except Exception:  # the notifications are stored: clients catch up from the list or on reconnect
            log.warning("notifications not published to the WebSockets", exc_info=True)

    def _publish(self, message: dict[str, Any]) -> None:
        try:
            self.pubsub.publish(self.channel, json.dumps(message, separators=(",", ":")))
        except Exception:  # the notification is stored: a client catches up from the list or on reconnect
            log.warning("notification not published to the WebSockets", exc_info=True)
