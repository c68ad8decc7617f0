"""The home feed: feed_items (every post, repost and public video under a compact seq) and
feed_readers (when each reader last read their feed), filled from the posts and videos there are.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Existing posts and public videos, oldest first, so that seqs follow time; a reply names the
#: author replied to when it is someone else. Subjects are set right after.
BACKFILL = """
INSERT INTO feed_items (post_id, video_id, subject_seq, author_id, reply_to_author_id, pushed, created_at)
SELECT post_id, video_id, 0, author_id, reply_to_author_id, :yes, created_at FROM (
    SELECT p.id AS post_id, NULL AS video_id, p.author_id AS author_id,
           CASE WHEN parent.author_id <> p.author_id THEN parent.author_id END AS reply_to_author_id,
           p.created_at AS created_at
    FROM posts p LEFT JOIN posts parent ON parent.id = p.reply_to
    UNION ALL
    SELECT NULL, v.id, v.owner_id, NULL, COALESCE(v.published_at, v.created_at)
    FROM videos v WHERE v.status = 'ready' AND v.visibility = 'public'
) AS everything
ORDER BY created_at, post_id, video_id
"""
REPOST_SUBJECTS = """
UPDATE feed_items SET subject_seq = (
    SELECT original.seq FROM posts r JOIN feed_items original ON original.post_id = r.repost_of
    WHERE r.id = feed_items.post_id
)
WHERE post_id IN (SELECT id FROM posts WHERE repost_of IS NOT NULL)
"""
OWN_SUBJECTS = "UPDATE feed_items SET subject_seq = seq WHERE subject_seq = 0"


def upgrade() -> None:
    op.create_table(
        "feed_items",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=True),
        sa.Column("subject_seq", SEQ, nullable=False),
        sa.Column("author_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reply_to_author_id", sa.String(32), nullable=True),
        sa.Column("pushed", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("post_id"),
        sa.UniqueConstraint("video_id"),
        sa.CheckConstraint("(post_id IS NULL) <> (video_id IS NULL)", name="ck_feed_items_one_subject"),
    )
    op.create_index("ix_feed_items_author", "feed_items", ["author_id", "seq"])
    op.create_index("ix_feed_items_subject", "feed_items", ["subject_seq"])
    op.create_index("ix_feed_items_pulled", "feed_items", ["pushed", "author_id"])
    op.create_index("ix_feed_items_created_at", "feed_items", ["created_at"])
    op.create_table(
        "feed_readers",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_read_at", TS, nullable=False),
    )
    op.create_index("ix_feed_readers_last_read_at", "feed_readers", ["last_read_at"])
    op.execute(sa.text(BACKFILL).bindparams(yes=True))
    op.execute(REPOST_SUBJECTS)
    op.execute(OWN_SUBJECTS)


def downgrade() -> None:
    op.drop_table("feed_readers")
    op.drop_table("feed_items")
