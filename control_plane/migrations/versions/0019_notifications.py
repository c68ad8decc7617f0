"""Notifications: inboxes, actors, preferences, conversation mutes, channel bells, push subscriptions.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, **kw)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        _user("user_id"),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("context_type", sa.String(16), nullable=True),
        sa.Column("context_id", sa.String(64), nullable=True),
        sa.Column("group_key", sa.String(120), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"])
    op.create_index("ix_notifications_group", "notifications", ["user_id", "group_key"])
    op.create_index("ix_notifications_subject", "notifications", ["subject_type", "subject_id"])
    op.create_index("ix_notifications_context", "notifications", ["context_type", "context_id"])
    op.create_index("ix_notifications_created", "notifications", ["created_at"])
    op.create_table(
        "notification_actors",
        sa.Column(
            "notification_id",
            BIG,
            sa.ForeignKey("notifications.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        ),
        _user("actor_id", primary_key=True),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_notification_actors_actor_id", "notification_actors", ["actor_id"])
    op.create_table(
        "notification_inboxes",
        _user("user_id", primary_key=True),
        sa.Column("read_up_to", BIG, nullable=False, server_default="0"),
        sa.Column("digested_up_to", BIG, nullable=False, server_default="0"),
        sa.Column("digest_sent_at", TS, nullable=True),
    )
    op.create_table(
        "notification_preferences",
        _user("user_id", primary_key=True),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(8), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("quiet_start", sa.Integer, nullable=True),
        sa.Column("quiet_end", sa.Integer, nullable=True),
        sa.Column("push_previews", sa.Boolean, nullable=False),
    )
    op.create_table(
        "notification_mutes",
        _user("user_id", primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True, nullable=False),
        sa.Column("subject_id", sa.String(32), primary_key=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "channel_bells",
        _user("user_id", primary_key=True),
        _user("channel_id", primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_channel_bells_channel", "channel_bells", ["channel_id", "user_id"])
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        _user("user_id"),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("endpoint_hash", sa.String(64), nullable=False),
        sa.Column("p256dh", sa.String(128), nullable=True),
        sa.Column("auth", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_success_at", TS, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.UniqueConstraint("endpoint_hash", name="uq_push_subscriptions_endpoint"),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])


def downgrade() -> None:
    op.drop_table("push_subscriptions")
    op.drop_table("channel_bells")
    op.drop_table("notification_mutes")
    op.drop_table("notification_preferences")
    op.drop_table("notification_inboxes")
    op.drop_table("notification_actors")
    op.drop_table("notifications")
