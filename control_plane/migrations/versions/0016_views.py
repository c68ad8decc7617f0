"""Views and watch time (sessions, daily watch per country and device, retention, flushes), the
subscribers a channel gains and loses per day,
countries a video is blocked in, and the account's birth date and suspension.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("birth_date", sa.Date, nullable=True))
        batch.add_column(sa.Column("suspended_until", TS, nullable=True))
    op.create_table(
        "video_geoblocks",
        sa.Column(
            "video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("country", sa.String(2), primary_key=True),
    )
    op.create_table(
        "view_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("video_id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("device", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("watched", sa.Float, nullable=False),
        sa.Column("max_position", sa.Float, nullable=False),
        sa.Column("heartbeats", sa.Integer, nullable=False),
        sa.Column("counted", sa.Boolean, nullable=False),
        sa.Column("rolled", sa.Boolean, nullable=False),
    )
    op.create_index("ix_view_sessions_video", "view_sessions", ["video_id", "rolled"])
    op.create_index("ix_view_sessions_last", "view_sessions", ["rolled", "last_at"])
    op.create_index("ix_view_sessions_user", "view_sessions", ["user_id", "last_at"])
    op.create_index("ix_view_sessions_owner_id", "view_sessions", ["owner_id"])
    op.create_table(
        "watch_daily",
        sa.Column("video_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("device", sa.String(16), primary_key=True),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("views", sa.BigInteger, nullable=False),
        sa.Column("watch_seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_watch_daily_owner_day", "watch_daily", ["owner_id", "day"])
    op.create_index("ix_watch_daily_day", "watch_daily", ["day"])
    op.create_table(
        "watch_retention",
        sa.Column("video_id", sa.String(32), primary_key=True),
        sa.Column("second", sa.Integer, primary_key=True),
        sa.Column("sessions", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "view_flushes",
        sa.Column("token", sa.String(32), primary_key=True),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_view_flushes_at", "view_flushes", ["at"])
    op.create_table(
        "channel_daily",
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("gained", sa.Integer, nullable=False),
        sa.Column("lost", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "channel_daily",
        "view_flushes",
        "watch_retention",
        "watch_daily",
        "view_sessions",
        "video_geoblocks",
    ):
        op.drop_table(table)
    # Not batch mode: on SQLite it would copy ``users`` into a new table and drop the old one,
    # and the drop deletes every row that references an account (ON DELETE CASCADE: channels,
    # videos, follows...). SQLite 3.35+ drops a column in place.
    for column in ("suspended_until", "birth_date"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE users DROP COLUMN {column}")
        else:
            op.drop_column("users", column)
