"""The notifications domain's tables: each person's inbox, who acted in each notification, their
preferences, the conversations they muted, the channels whose every upload they asked for (the
bell), their devices' push subscriptions, and the mailbox of what events asked for, waiting to
be made into notifications.

A notification's ``id`` grows with each one made for its recipient, in the order of the commits
(the recipient's inbox row is locked while one is made), so "everything after the last id I saw"
is a complete catch-up. Regrouping a like or a follow into an unread group makes the group anew
with a fresh id (it moves to the top and is unread again), carrying its actors over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.accounts.models import User
from control_plane.core.db import Base, UTCDateTime, new_id, utcnow

__all__ = [
    "ChannelBell",
    "ConversationMute",
    "Inbox",
    "MailboxBatch",
    "Notification",
    "NotificationActor",
    "NotificationPreferences",
    "PushSubscription",
]

#: A 64-bit id on PostgreSQL; SQLite's rowid alias must be declared INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user() -> sa.ForeignKey:
    return sa.ForeignKey(User.id, ondelete="CASCADE")


class Notification(Base):
    """One entry of ``user_id``'s inbox. ``subject`` is what it is about (``post``, ``video``,
    ``comment``, ``user``, ``stream``, ``claim``...), ``context`` what that belongs to (the video
    a comment is on), ``conversation`` the thread it belongs to (a post thread's first post, or a
    video) for conversation mutes. Its actors are in ``notification_actors``."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user", "user_id", "id"),
        sa.Index("ix_notifications_group", "user_id", "group_key"),
        sa.Index("ix_notifications_subject", "subject_type", "subject_id"),
        sa.Index("ix_notifications_context", "context_type", "context_id"),
        sa.Index("ix_notifications_created", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(_user())
    type: Mapped[str] = mapped_column(sa.String(24))
    subject_type: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[str] = mapped_column(sa.String(64))
    context_type: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    context_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    #: ``type:subject_type:subject_id`` for the kinds that group (likes, follows); None otherwise.
    group_key: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    #: Small public facts to show (a video's title, a claim's policy); never private text.
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: When the latest activity in it happened (the event, not the insert).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationActor(Base):
    """An account that acted in a notification (one of the likers of a grouped like)."""

    __tablename__ = "notification_actors"

    notification_id: Mapped[int] = mapped_column(
        sa.ForeignKey(Notification.id, ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[str] = mapped_column(_user(), primary_key=True, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Inbox(Base):
    """A person's inbox state: read up to ``read_up_to`` (ids at or below are read), and the
    latest id a digest covered. Its row is the lock under which notifications are made."""

    __tablename__ = "notification_inboxes"

    user_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    read_up_to: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    digested_up_to: Mapped[int] = mapped_column(BigId, default=0, server_default="0")
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NotificationPreferences(Base):
    """What a person changed from the defaults (``control_plane.notifications.kinds``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    #: ``{type: {"in_app": bool, "push": bool, "email": bool}}``, only the channels changed.
    types: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: ``off``, ``daily`` or ``weekly``.
    digest: Mapped[str] = mapped_column(sa.String(8), default="weekly")
    #: An IANA time zone name: digests go out and quiet hours are kept in it.
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    #: Quiet hours for push, minutes after local midnight; both None: none.
    quiet_start: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    quiet_end: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    #: False: push messages say only that something is new, never who or what.
    push_previews: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class ConversationMute(Base):
    """No notification about a post thread (``post``, its first post) or a video's comments."""

    __tablename__ = "notification_mutes"

    user_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    subject_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelBell(Base):
    """``user_id`` asked to hear of every new video and post of ``channel_id`` (YouTube's bell)."""

    __tablename__ = "channel_bells"
    __table_args__ = (sa.Index("ix_channel_bells_channel", "channel_id", "user_id"),)

    user_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    channel_id: Mapped[str] = mapped_column(_user(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushSubscription(Base):
    """One device's way to be pushed to: a Web Push subscription (``webpush``: the browser's
    endpoint and keys) or a mobile token (``fcm``, ``apns``: ``endpoint`` holds the token)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (sa.UniqueConstraint("endpoint_hash", name="uq_push_subscriptions_endpoint"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(_user(), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8), default="webpush")
    endpoint: Mapped[str] = mapped_column(sa.Text)
    #: SHA-256 of the endpoint: one row per device, whoever registers it last.
    endpoint_hash: Mapped[str] = mapped_column(sa.String(64))
    p256dh: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    auth: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Sends that failed in a row, and the last failure's words.
    failures: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)


class MailboxBatch(Base):
    """One batch of an intake's items (``control_plane.notifications.intake``), waiting for a
    ``notifications.drain`` job, which deletes it in the transaction that makes its notifications.
    ``attempts`` counts the drains that failed on it alone; at ``mailbox.MAX_ATTEMPTS`` it is
    kept, with ``error``, as the record of what was given up, and drains pass it by."""

    __tablename__ = "notification_mailbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
