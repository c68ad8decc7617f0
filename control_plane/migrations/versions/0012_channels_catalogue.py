"""Channels (display name, bio, avatar, counts) and the catalogue's video metadata: description,
tags, category, language, comment policy, age restriction, publication time, counts, and the
indexes the catalogue's and the live streams' lists read.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
VIDEO_INDEXES = {
    "ix_videos_catalogue": ["status", "visibility", "published_at", "id"],
    "ix_videos_channel": ["owner_id", "status", "visibility", "published_at", "id"],
    "ix_videos_category": ["category", "status", "visibility", "published_at", "id"],
    "ix_videos_popular": ["status", "visibility", "views", "id"],
    "ix_videos_owner_created": ["owner_id", "created_at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("category", sa.String(32), nullable=True))
        batch.add_column(sa.Column("language", sa.String(35), nullable=True))
        batch.add_column(sa.Column("comment_policy", sa.String(16), nullable=False, server_default="enabled"))
        batch.add_column(sa.Column("age_restricted", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("published_at", TS, nullable=True))
        for name in ("views", "likes", "comments"):
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=False, server_default="0"))
    # Videos that were ready before this revision were published when they were made.
    op.execute("UPDATE videos SET published_at = created_at WHERE status = 'ready'")
    for name, columns in VIDEO_INDEXES.items():
        op.create_index(name, "videos", columns)

    op.create_index("ix_live_streams_live", "live_streams", ["status", "started_at", "id"])
    op.create_index("ix_live_streams_owner_created", "live_streams", ["owner_id", "created_at", "id"])

    op.create_table(
        "video_tags",
        sa.Column(
            "video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("position", sa.SmallInteger, nullable=False),
    )
    op.create_index("ix_video_tags_tag", "video_tags", ["tag", "video_id"])

    op.create_table(
        "channels",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("display_name", sa.String(64), nullable=True),
        sa.Column("bio", sa.Text, nullable=True),
        sa.Column("avatar", sa.String(32), nullable=True),
        sa.Column("followers", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("following", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("posts", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channels")
    op.drop_table("video_tags")
    op.drop_index("ix_live_streams_owner_created", table_name="live_streams")
    op.drop_index("ix_live_streams_live", table_name="live_streams")
    for name in VIDEO_INDEXES:
        op.drop_index(name, table_name="videos")
    with op.batch_alter_table("videos") as batch:
        for name in (
            "comments",
            "likes",
            "views",
            "published_at",
            "age_restricted",
            "comment_policy",
            "language",
            "category",
            "description",
        ):
            batch.drop_column(name)
