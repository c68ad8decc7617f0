"""Making notifications: the ``notifications.drain``, ``notifications.ingest`` and
``notifications.fanout`` jobs' work.

``drain(mailbox)`` takes what every process's ``intake`` made of events and left in the
``mailbox``, chunk by chunk; ``ingest(items)`` takes items handed in (the jobs intakes sent before
the mailbox). Each chunk is one transaction, which deletes the mailbox rows it took.

For each person to be told, it checks their preferences (the type's in-app, push and email
channels), that the actor is not hidden from them (a block either way, or their mute), and that
the conversation is not muted; then, holding their inbox row, it adds the notification, or
regroups it: a like or follow on a subject that has an unread group joins it (made anew at the
top, with one more actor), and an actor already in the group adds nothing. Once committed, each
new notification is published with the unread count (``stream``), a push job is enqueued for those
to push, and mails are posted for those to mail.

A fan-out (a new video or post to the channel's bells, going live to its followers) is done in
batches of ``fanout_batch`` people, each batch a job that enqueues the next, on the
``notifications-bulk`` queue, so a channel with 50,000 followers does not hold up the queue
that carries likes and replies.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.pubsub import PubSub
from control_plane.notifications import preferences
from control_plane.notifications.inbox import Inboxes, unread_counts
from control_plane.notifications.kinds import KINDS
from control_plane.notifications.mailbox import Mailbox, Taken
from control_plane.notifications.models import (
    ChannelBell,
    ConversationMute,
    Inbox,
    Notification,
    NotificationActor,
    PushSubscription,
)
from control_plane.social.audience import hidden_pairs
from control_plane.social.models import Follow, Post

__all__ = ["Drained", "Made", "NotificationService"]

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


@dataclass
class Drained:
    """What one drain did: mailbox rows and items taken, notifications made, removed, and rows
    that failed alone (left for a later drain)."""

    rows: int = 0
    items: int = 0
    made: int = 0
    removed: int = 0
    failed: int = 0
    #: The rows that failed alone: this drain passes them by.
    passing: set[int] = field(default_factory=set)


@dataclass
class _After:
    """What a chunk's commit is followed by: the WebSocket messages and the fan-outs to start."""

    messages: list[dict[str, Any]]
    fanouts: list[dict[str, Any]]


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
        """Do what the items ask: notify, fan out, remove, in one transaction; then publish and
        send the follow-ups. Returns what was made. (The ``notifications.ingest`` job of items in
        its arguments, as intakes sent before the mailbox.)"""
        with self.db.session(exclusive=True) as session:
            made, after = self._ingest_in(session, items)
        self._deliver(made, after)
        return made

    def drain(self, mailbox: Mailbox, *, budget: float = 30.0) -> Drained:
        """The ``notifications.drain`` job: hold the mailbox's gate, then take what waits, chunk by
        chunk (each chunk's rows deleted in the transaction that makes their notifications), until
        it is empty and stays so for the mailbox's ``linger`` seconds; release the gate and look
        once more (see ``mailbox``). After ``budget`` seconds it releases the gate and kicks a
        drain to go on, so no job runs for ever.

        A chunk that fails is taken again row by row; a row that fails alone has its attempts
        counted and stays for a later drain, passed by from ``MAX_ATTEMPTS`` on (kept as the
        record, with its error). A worker killed mid-chunk rolls the chunk back: its rows wait.
        What follows a commit (the WebSocket messages, the push and fan-out jobs, the mails) is
        sent after it: a process killed in those milliseconds loses them, never the notifications.
        """
        drained = Drained()
        deadline = time.monotonic() + budget
        token = mailbox.hold()
        while True:
            while self._drain_chunk(mailbox, drained, None) or mailbox.linger_for_more(drained.passing):
                if time.monotonic() > deadline:
                    mailbox.release(token)
                    mailbox.kick()
                    return drained
                mailbox.keep(token)
            mailbox.release(token)
            if not self._drain_chunk(mailbox, drained, None):  # the last look
                return drained
            token = mailbox.hold()

    def _drain_chunk(self, mailbox: Mailbox, drained: Drained, ids: list[int] | None) -> bool:
        """One chunk (the rows ``ids`` only, when given); False if there was nothing to take."""
        taken: list[Taken] = []
        try:
            with self.db.session(exclusive=True) as session:
                taken = mailbox.take(session, ids, passing=drained.passing)
                if not taken:
                    return False
                made, after = self._ingest_in(session, [i for _, items in taken for i in items])
                mailbox.remove(session, [row_id for row_id, _ in taken])
        except Exception as exc:
            if not taken:  # the database itself refused: the job's retries
                raise
            if len(taken) > 1:  # find the row at fault: the others go through
                log.warning(
                    "a drain chunk of %d rows failed; taking them one by one", len(taken), exc_info=True
                )
                for row_id, _ in taken:
                    self._drain_chunk(mailbox, drained, [row_id])
                return True
            row_id = taken[0][0]
            attempts = mailbox.failed(row_id, exc)
            drained.failed += 1
            drained.passing.add(row_id)  # not again in this drain
            log.exception("notification mailbox row %d failed (attempt %d)", row_id, attempts)
            return True
        drained.rows += len(taken)
        drained.items += sum(len(items) for _, items in taken)
        drained.made += len(made.notifications)
        drained.removed += made.removed
        self._deliver(made, after)
        return True

    def _ingest_in(self, session: Session, items: Sequence[dict[str, Any]]) -> tuple[Made, _After]:
        """The items in their order: a removal takes out the stored notifications of its subjects
        and the items before it in this batch that are about them (a post deleted within the
        window that announced it tells nobody), not those after it (a post held, then released)."""
        removed = 0
        gone: dict[tuple[str, str], int] = {}  # subject (or context) -> position of its last removal
        for at, item in enumerate(items):
            if "remove" in item:
                subjects = [(str(t), str(i)) for t, i in item["remove"]]
                removed += self.remove_in(session, subjects)
                gone.update((subject, at) for subject in subjects)

        def stands(at: int, item: dict[str, Any]) -> bool:
            about = [item.get("subject"), item.get("context")]
            return all(gone.get((str(a[0]), str(a[1])), -1) < at for a in about if a)

        kept = [(at, i) for at, i in enumerate(items) if "remove" not in i and stands(at, i)]
        made, messages = self._notify_in(session, [i for _, i in kept if "user" in i])
        made.removed = removed
        return made, _After(messages, [i for _, i in kept if "fanout" in i])

    def _deliver(self, made: Made, after: _After) -> None:
        """After the commit: publish the messages, enqueue the fan-outs and pushes, post the
        mails. A queue that refuses loses those (logged): the notifications are stored, and
        running the work again would make them twice."""
        self.inboxes.publish(after.messages)
        for item in after.fanouts:
            try:
                self.enqueue("notifications.fanout", args={"item": item, "after": None})
            except Exception:
                log.exception(
                    "a %s fan-out of %s was lost: the job queue refused", item["type"], item["actor"]
                )
        for start in range(0, len(made.pushes), 100):
            try:
                self.enqueue("notifications.push", args={"items": made.pushes[start : start + 100]})
            except Exception:
                log.exception("%d pushes lost: the job queue refused", len(made.pushes[start : start + 100]))
        if made.mails and self.mails is not None:
            self.mails(made.mails)

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
        """Make the notifications of ``items`` (people to tell) in one transaction, then deliver."""
        with self.db.session(exclusive=True) as session:
            made, messages = self._notify_in(session, items)
        self._deliver(made, _After(messages, []))
        return made

    def _notify_in(
        self, session: Session, items: Sequence[dict[str, Any]]
    ) -> tuple[Made, list[dict[str, Any]]]:
        """Check and store the items in ``session`` (exclusive: its inboxes are locked); returns
        what was made and the messages to publish once it commits."""
        made = Made()
        items = [i for i in items if i.get("user") and i["user"] != i.get("actor") and i["type"] in KINDS]
        if not items:
            return made, []
        prefs = preferences.load(session, (i["user"] for i in items))
        hidden = hidden_pairs(session, {(i["user"], i["actor"]) for i in items if i.get("actor")})
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
            return made, []
        boxed = [k for k, wants in enumerate(channels) if wants["in_app"]]
        stored: dict[int, int] = {}
        slots, rows, messages = self._store(session, [keep[k] for k in boxed])
        for k, slot in zip(boxed, slots, strict=True):
            if slot is None:  # an actor already in the group: nothing new to tell anywhere
                channels[k] = {"in_app": False, "push": False, "email": False}
                continue
            stored[k] = slot
        made.notifications = [(row.id, row.user_id, replaced) for row, replaced in rows]
        for k, (item, wants) in enumerate(zip(keep, channels, strict=True)):
            note = {**item, "id": stored.get(k)}
            if wants["push"]:
                made.pushes.append(note)
            if wants["email"]:
                made.mails.append(note)
        return made, messages

    def _store(
        self, session: Session, items: list[dict[str, Any]]
    ) -> tuple[list[int | None], list[tuple[Notification, int | None]], list[dict[str, Any]]]:
        """Insert or regroup the items under their recipients' locked inboxes, set-based: a few
        statements for the batch whatever its size (the inboxes, the unread groups and their
        actors read at once; the new rows, the actors moved, the groups replaced and the new
        actors written at once). Items of the batch on one group make one row: it carries their
        actors and replaces the unread group there was, at the place of the last of them.

        Returns, in the order of ``items``, the id of the row each item is in (None for an item
        that added nothing: an actor already in its group); the rows made, each with the id of
        the group it replaced (or None), in the order they were made; and the messages to publish."""
        if not items:
            return [], [], []
        users = sorted({i["user"] for i in items})
        if session.get_bind().dialect.name == "postgresql":
            # The batch's unread counts are one statement whose estimated cost grows with the
            # recipients; past jit_above_cost PostgreSQL spent 50-100 ms compiling it (JIT) to
            # save nothing on a few index probes (EXPLAIN ANALYZE, docs/notifications.md).
            session.execute(sa.text("SET LOCAL jit = off"))
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
        keys = [_group_key(item) for item in items]
        groups = _unread_groups(session, {(i["user"], k) for i, k in zip(items, keys, strict=True) if k})
        # what the batch makes: one entry per new row, in the order of its last item
        entries: list[_Entry] = []
        by_group: dict[tuple[str, str], _Entry] = {}
        slot_of: list[_Entry | None] = []
        for item, key in zip(items, keys, strict=True):
            actor, at = item.get("actor"), _time(item.get("at"))
            entry = by_group.get((item["user"], key)) if key else None
            if entry is None and key:
                old = groups.get((item["user"], key))
                entry = _Entry(item, key, at, replaces=old[0] if old else None)
                entry.actors = set(old[1]) if old else set()
                by_group[(item["user"], key)] = entry
            elif entry is None:
                entry = _Entry(item, None, at, replaces=None)
            if key and actor is not None and actor in entry.actors:
                slot_of.append(None)  # liked, unliked and liked again: nothing new to say
                continue
            if actor is not None:
                entry.actors.add(actor)
                entry.new_actors.append((actor, at))
            entry.item, entry.at = item, at
            if entry in entries:
                entries.remove(entry)
            entries.append(entry)
            slot_of.append(entry)
        if not entries:
            return [None] * len(items), [], []
        ids = session.scalars(
            sa.insert(Notification).returning(Notification.id, sort_by_parameter_order=True),
            [e.row() for e in entries],
        ).all()
        for entry, new_id in zip(entries, ids, strict=True):
            entry.id = new_id
        moved = [{"old": e.replaces, "new": e.id} for e in entries if e.replaces is not None]
        if moved:
            actors_table = cast(sa.Table, NotificationActor.__table__)
            session.execute(
                sa.update(actors_table)
                .where(actors_table.c.notification_id == sa.bindparam("old"))
                .values(notification_id=sa.bindparam("new")),
                moved,
            )
            session.execute(
                sa.delete(Notification)
                .where(Notification.id.in_([m["old"] for m in moved]))
                .execution_options(synchronize_session=False)
            )
        new_actors = [
            {"notification_id": e.id, "actor_id": actor, "at": at}
            for e in entries
            for actor, at in e.new_actors
        ]
        if new_actors:
            session.execute(sa.insert(cast(sa.Table, NotificationActor.__table__)), new_actors)
        made = [(e.notification(), e.replaces) for e in entries]
        messages = self.inboxes.messages(session, made, read)
        return [e.id if e is not None else None for e in slot_of], made, messages

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


def _group_key(item: dict[str, Any]) -> str | None:
    if not KINDS[item["type"]].groups:
        return None
    subject_type, subject_id = item["subject"]
    return f"{item['type']}:{subject_type}:{subject_id}"[:120]


def _unread_groups(
    session: Session, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """The unread group of each (recipient, group key) there is one for: its id and its actors,
    two statements for them all (the recipients' inbox rows are locked)."""
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(Notification.user_id, Notification.group_key, sa.func.max(Notification.id))
        .join(Inbox, Inbox.user_id == Notification.user_id)
        .where(
            Notification.user_id.in_({u for u, _ in wanted}),
            Notification.group_key.in_({k for _, k in wanted}),
            Notification.id > Inbox.read_up_to,
        )
        .group_by(Notification.user_id, Notification.group_key)
    ).all()
    found = {(u, str(k)): int(i) for u, k, i in rows if (u, k) in wanted}
    actors: dict[int, list[str]] = defaultdict(list)
    if found:
        for notification_id, actor_id in session.execute(
            sa.select(NotificationActor.notification_id, NotificationActor.actor_id).where(
                NotificationActor.notification_id.in_(found.values())
            )
        ):
            actors[notification_id].append(actor_id)
    return {pair: (i, actors[i]) for pair, i in found.items()}


class _Entry:
    """One row the batch makes: the latest of its items, its actors (all, and those new)."""

    def __init__(self, item: dict[str, Any], key: str | None, at: datetime, replaces: int | None) -> None:
        self.item, self.key, self.at, self.replaces = item, key, at, replaces
        self.actors: set[str] = set()
        self.new_actors: list[tuple[str, datetime]] = []
        self.id = 0

    def row(self) -> dict[str, Any]:
        subject_type, subject_id = self.item["subject"]
        context = self.item.get("context") or (None, None)
        return {
            "user_id": self.item["user"],
            "type": self.item["type"],
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "context_type": context[0],
            "context_id": context[1],
            "group_key": self.key,
            "data": self.item.get("data") or {},
            "created_at": self.at,
        }

    def notification(self) -> Notification:
        """The row as made (not attached to any session)."""
        return Notification(id=self.id, **self.row())


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
