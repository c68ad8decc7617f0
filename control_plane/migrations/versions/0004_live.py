"""Live streams and their state events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_streams",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column(
            "recording_video_id",
            sa.String(32),
            sa.ForeignKey("videos.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_live_streams_owner_id", "live_streams", ["owner_id"])
    op.create_index("ix_live_streams_key_prefix", "live_streams", ["key_prefix"])
    op.create_table(
        "live_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "stream_id", sa.String(32), sa.ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_live_events_stream_id", "live_events", ["stream_id"])


def downgrade() -> None:
    op.drop_index("ix_live_events_stream_id", table_name="live_events")
    op.drop_table("live_events")
    op.drop_index("ix_live_streams_key_prefix", table_name="live_streams")
    op.drop_index("ix_live_streams_owner_id", table_name="live_streams")
    op.drop_table("live_streams")
