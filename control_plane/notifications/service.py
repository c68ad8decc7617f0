"""Making notifications: the ``notifications.ingest`` and ``notifications.fanout`` jobs' work.

``ingest(items)`` takes what ``intake`` made of events. For each person to be told, it checks
their preferences (the type's in-app, push and email channels), that the actor is not hidden from
them (a block either way, or their mute), and that the conversation is not muted; then, holding
their inbox row, it adds the notification, or regroups it: a like or follow on a subject that
has an unread group joins it (made anew at the top, with one more actor), and an actor already in
the group adds nothing. Once committed, each new notification is published with the unread count
(``stream``), a push job is enqueued for those to push, and mails are posted for those to mail.

A fan-out (a new video or post to the channel's bells, going live to its followers) is done in
batches of ``fanout_batch`` people, each batch a job that enqueues the next, on the
``notifications-bulk`` queue, so a channel with 50,000 followers does not hold up the queue
that carries likes and replies.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.pubsub import PubSub
from control_plane.notifications import preferences
from control_plane.notifications.inbox import Inboxes, unread_counts
from control_plane.notifications.kinds import KINDS
from control_plane.notifications.models import (
    ChannelBell,
    ConversationMute,
    Inbox,
    Notification,
    NotificationActor,
    PushSubscription,
)
from control_plane.social.models import Block, Follow, Mute, Post

__all__ = ["Made", "NotificationService"]

log = logging.getLogger(__name__)

#: Steps up a reply chain before giving up on finding a thread's first post.
MAX_THREAD_DEPTH = 64


@dataclass
class Made:
    """What one ingest did: the notifications made (id, recipient, what it replaced), and the
    deliveries it asked for."""

    notifications: list[tuple[int, str, int | None]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    mails: list[dict[str, Any]] = field(default_factory=list)
    removed: int = 0


def _insert(session: Session, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


def _time(value: str | None) -> datetime:
    if not value:
        return utcnow()
    return datetime.fromisoformat(value)


class NotificationService:
    """The only writer of notifications and inboxes' read state.

    ``pubsub`` carries new notifications to the API processes' WebSockets on ``channel``;
    ``enqueue`` is the jobs port (push and fan-out jobs); ``mails`` takes the mails to post
    (``Mailbag.post``), or None where mail is not configured.
    """

    def __init__(
        self,
        db: Database,
        pubsub: PubSub,
        enqueue: Callable[..., object],
        *,
        channel: str = "notifications",
        fanout_batch: int = 500,
        mails: Callable[[list[dict[str, Any]]], object] | None = None,
    ) -> None:
        self.db = db
        self.pubsub = pubsub
        self.enqueue = enqueue
        self.channel = channel
        self.fanout_batch = fanout_batch
        self.mails = mails
        self.inboxes = Inboxes(db, pubsub, channel)

    # -- the jobs' entry points ----------------------------------------------------------------

    def ingest(self, items: Sequence[dict[str, Any]]) -> Made:
        """Do what the items ask: notify, fan out, remove. Returns what was made."""
        tell = [i for i in items if "user" in i]
        removed = 0
        for item in items:
            if "remove" in item:
                removed += self.remove_subjects([tuple(s) for s in item["remove"]])
            elif "fanout" in item:
                self.enqueue("notifications.fanout", args={"item": item, "after": None})
        made = self.notify(tell)
        made.removed = removed
        return made

    def fanout(self, item: dict[str, Any], after: str | None) -> tuple[int, str | None]:
        """Notify the next batch of the item's audience after the user id ``after``; returns how
        many were asked and the id to continue after (None: done). The caller enqueues the next."""
        author = item["actor"]
        with self.db.session() as session:
            if item["fanout"] == "bell":
                column, query = (
                    ChannelBell.user_id,
                    sa.select(ChannelBell.user_id).where(ChannelBell.channel_id == author),
                )
            else:
                column, query = (
                    Follow.follower_id,
                    sa.select(Follow.follower_id).where(Follow.followee_id == author),
                )
            if after is not None:
                query = query.where(column > after)
            audience = list(session.scalars(query.order_by(column).limit(self.fanout_batch)))
        self.notify([{**{k: v for k, v in item.items() if k != "fanout"}, "user": user} for user in audience])
        more = audience[-1] if len(audience) == self.fanout_batch else None
        return len(audience), more

    # -- making --------------------------------------------------------------------------------

    def notify(self, items: Sequence[dict[str, Any]]) -> Made:
        made = Made()
        items = [i for i in items if i.get("user") and i["user"] != i.get("actor") and i["type"] in KINDS]
        if not items:
            return made
        with self.db.session() as session:
            prefs = preferences.load(session, (i["user"] for i in items))
            hidden = _hidden(session, {(i["user"], i["actor"]) for i in items if i.get("actor")})
            items = [i for i in items if (i["user"], i.get("actor")) not in hidden]
            _resolve_threads(session, items)
            muted = _muted(session, items)
            items = [i for i in items if (i["user"], *(i.get("conversation") or ("", ""))) not in muted]
            pushable = _pushable(session, {i["user"] for i in items})
        keep, channels = [], []
        now = utcnow()
        for item in items:
            p = prefs[item["user"]]
            wants = {c: p.wants(item["type"], c) for c in ("in_app", "push", "email")}
            wants["push"] = wants["push"] and item["user"] in pushable and not p.quiet(now)
            if any(wants.values()):
                keep.append(item)
                channels.append(wants)
        if not keep:
            return made
        boxed = [k for k, wants in enumerate(channels) if wants["in_app"]]
        stored: dict[int, int] = {}
        rows = []
        results, messages = self._store([keep[k] for k in boxed])
        for k, result in zip(boxed, results, strict=True):
            if result is None:  # an actor already in the group: nothing new to tell anywhere
                channels[k] = {"in_app": False, "push": False, "email": False}
                continue
            rows.append(result)
            stored[k] = result[0].id
        made.notifications = [(row.id, row.user_id, replaced) for row, replaced in rows]
        self.inboxes.publish(messages)
        for k, (item, wants) in enumerate(zip(keep, channels, strict=True)):
            note = {**item, "id": stored.get(k)}
            if wants["push"]:
                made.pushes.append(note)
            if wants["email"]:
                made.mails.append(note)
        if made.pushes:
            for start in range(0, len(made.pushes), 100):
                self.enqueue("notifications.push", args={"items": made.pushes[start : start + 100]})
        if made.mails and self.mails is not None:
            self.mails(made.mails)
        return made

    def _store(
        self, items: list[dict[str, Any]]
    ) -> tuple[list[tuple[Notification, int | None] | None], list[dict[str, Any]]]:
        """Insert or regroup each item under its recipient's locked inbox. Returns, in the order
        of ``items``, each row made with the id of the group it replaced (or None), or None for an
        item that added nothing (an actor already in its group); and the messages to publish."""
        if not items:
            return [], []
        users = sorted({i["user"] for i in items})
        out: list[tuple[Notification, int | None] | None] = []
        with self.db.session(exclusive=True) as session:
            session.execute(
                _insert(session, Inbox).values([{"user_id": u} for u in users]).on_conflict_do_nothing()
            )
            read = dict(
                session.execute(
                    sa.select(Inbox.user_id, Inbox.read_up_to)
                    .where(Inbox.user_id.in_(users))
                    .order_by(Inbox.user_id)
                    .with_for_update()
                ).all()
            )
            for item in items:
                out.append(self._one(session, item, read[item["user"]]))
            messages = self.inboxes.messages(session, [r for r in out if r is not None])
        return out, messages

    def _one(
        self, session: Session, item: dict[str, Any], read_up_to: int
    ) -> tuple[Notification, int | None] | None:
        kind = KINDS[item["type"]]
        subject_type, subject_id = item["subject"]
        context = item.get("context") or (None, None)
        actor, at = item.get("actor"), _time(item.get("at"))
        group_key = f"{item['type']}:{subject_type}:{subject_id}"[:120] if kind.groups else None
        old: Notification | None = None
        if group_key is not None:
            old = session.scalars(
                sa.select(Notification)
                .where(
                    Notification.user_id == item["user"],
                    Notification.group_key == group_key,
                    Notification.id > read_up_to,
                )
                .order_by(Notification.id.desc())
                .limit(1)
            ).first()
            if old is not None and actor is not None:
                already = session.scalar(
                    sa.select(sa.literal(1)).where(
                        NotificationActor.notification_id == old.id, NotificationActor.actor_id == actor
                    )
                )
                if already:
                    return None  # liked, unliked and liked again: nothing new to say
        row = Notification(
            user_id=item["user"],
            type=item["type"],
            subject_type=subject_type,
            subject_id=str(subject_id),
            context_type=context[0],
            context_id=context[1],
            group_key=group_key,
            data=item.get("data") or {},
            created_at=at,
        )
        session.add(row)
        session.flush()
        if old is not None:
            session.execute(
                sa.update(NotificationActor)
                .where(NotificationActor.notification_id == old.id)
                .values(notification_id=row.id)
                .execution_options(synchronize_session=False)
            )
            session.execute(sa.delete(Notification).where(Notification.id == old.id))
        if actor is not None:
            session.add(NotificationActor(notification_id=row.id, actor_id=actor, at=at))
        session.flush()
        return row, old.id if old is not None else None

    # -- removing --------------------------------------------------------------------------

    def remove_subjects(self, subjects: Iterable[tuple[str, str]]) -> int:
        """Remove every notification about (or in the context of) the subjects; returns how many."""
        with self.db.session() as session:
            return self.remove_in(session, subjects)

    @staticmethod
    def remove_in(session: Session, subjects: Iterable[tuple[str, str]]) -> int:
        by_type: dict[str, list[str]] = defaultdict(list)
        for subject_type, subject_id in subjects:
            by_type[subject_type].append(subject_id)
        removed = 0
        for subject_type, ids in by_type.items():
            for column_type, column_id in (
                (Notification.subject_type, Notification.subject_id),
                (Notification.context_type, Notification.context_id),
            ):
                gone = session.execute(
                    sa.delete(Notification)
                    .where(column_type == subject_type, column_id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
                removed += gone.rowcount or 0  # type: ignore[attr-defined]
        return removed

    def video_removed(self, session: Session, video: Any, leftovers: object) -> None:
        """The video's remover (``VideoService.on_remove``): its notifications go with it."""
        self.remove_in(session, [("video", video.id)])

    def sweep(self, retention: float) -> int:
        """Delete notifications older than ``retention`` seconds; returns how many."""
        cutoff = utcnow() - timedelta(seconds=retention)
        with self.db.session() as session:
            gone = session.execute(
                sa.delete(Notification)
                .where(Notification.created_at < cutoff)
                .execution_options(synchronize_session=False)
            )
            return gone.rowcount or 0  # type: ignore[attr-defined]

    def unread(self, user_id: str) -> int:
        with self.db.session() as session:
            return unread_counts(session, [user_id])[user_id]


def _hidden(session: Session, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (recipient, actor) pairs where the actor is hidden from the recipient: a block either
    way, or the recipient's mute."""
    if not pairs:
        return set()
    users, actors = {u for u, _ in pairs}, {a for _, a in pairs}
    found: set[tuple[str, str]] = set()
    blocks = session.execute(
        sa.select(Block.blocker_id, Block.blocked_id).where(
            sa.or_(
                sa.and_(Block.blocker_id.in_(users), Block.blocked_id.in_(actors)),
                sa.and_(Block.blocked_id.in_(users), Block.blocker_id.in_(actors)),
            )
        )
    )
    for a, b in blocks:
        found |= {(a, b), (b, a)}
    mutes = session.execute(
        sa.select(Mute.muter_id, Mute.muted_id).where(Mute.muter_id.in_(users), Mute.muted_id.in_(actors))
    )
    found |= {(a, b) for a, b in mutes}
    return found & pairs


def _resolve_threads(session: Session, items: list[dict[str, Any]]) -> None:
    """Replace each post conversation by its thread's first post (a reply's reply's ... post)."""
    roots: dict[str, str] = {}
    for item in items:
        conversation = item.get("conversation")
        if not conversation or conversation[0] != "post":
            continue
        start = conversation[1]
        if start not in roots:
            post_id = start
            for _ in range(MAX_THREAD_DEPTH):
                parent = session.scalar(sa.select(Post.reply_to).where(Post.id == post_id))
                if parent is None:
                    break
                post_id = parent
            roots[start] = post_id
        item["conversation"] = ["post", roots[start]]


def _muted(session: Session, items: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    conversations = {(i["user"], *i["conversation"]) for i in items if i.get("conversation")}
    if not conversations:
        return set()
    rows = session.execute(
        sa.select(ConversationMute.user_id, ConversationMute.kind, ConversationMute.subject_id).where(
            ConversationMute.user_id.in_({c[0] for c in conversations}),
            ConversationMute.subject_id.in_({c[2] for c in conversations}),
        )
    )
    return {(u, k, s) for u, k, s in rows} & conversations


def _pushable(session: Session, users: set[str]) -> set[str]:
    """The users with at least one device to push to."""
    if not users:
        return set()
    return set(
        session.scalars(
            sa.select(PushSubscription.user_id).where(PushSubscription.user_id.in_(users)).distinct()
        )
    )


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)
