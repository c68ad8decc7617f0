"""The social graph, posts, comments, likes, hashtags and trends, and the search index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _user(name: str, **kw: Any) -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, **kw)


def _video(name: str, **kw: Any) -> sa.Column:
    return sa.Column(
        name, sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False, **kw
    )


def _counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def _pair(table: str, a: str, b: str) -> None:
    op.create_table(
        table,
        _user(a, primary_key=True),
        _user(b, primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )


def upgrade() -> None:
    _pair("follows", "follower_id", "followee_id")
    op.create_index("ix_follows_followee", "follows", ["followee_id", "created_at", "follower_id"])
    _pair("blocks", "blocker_id", "blocked_id")
    op.create_index("ix_blocks_blocked_id", "blocks", ["blocked_id"])
    _pair("mutes", "muter_id", "muted_id")
    op.create_table(
        "user_stats",
        _user("user_id", primary_key=True),
        _counter("followers"),
        _counter("following"),
        _counter("posts"),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.String(32), primary_key=True),
        _user("author_id"),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reply_to", sa.String(32), sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("repost_of", sa.String(32), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("quote_of", sa.String(32), sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True),
        _counter("likes"),
        _counter("reposts"),
        _counter("replies"),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("repost_of", "author_id", name="uq_posts_repost_author"),
    )
    op.create_index("ix_posts_author", "posts", ["author_id", "created_at", "id"])
    op.create_index("ix_posts_reply_to", "posts", ["reply_to", "created_at", "id"])
    op.create_index("ix_posts_quote_of", "posts", ["quote_of"])
    op.create_index("ix_posts_video_id", "posts", ["video_id"])
    op.create_index("ix_posts_created_at", "posts", ["created_at"])
    op.create_table(
        "post_tags",
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        _user("author_id"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_post_tags_tag", "post_tags", ["tag", "created_at", "post_id"])
    op.create_index("ix_post_tags_created", "post_tags", ["created_at"])
    op.create_table(
        "post_mentions",
        sa.Column("post_id", sa.String(32), sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
        _user("user_id", primary_key=True),
    )
    op.create_index("ix_post_mentions_user_id", "post_mentions", ["user_id"])
    op.create_table(
        "hashtags",
        sa.Column("tag", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        _counter("posts"),
        sa.Column("last_used_at", TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":  # prefix search (LIKE 'abc%') whatever the collation
        op.execute("CREATE INDEX ix_hashtags_tag_pattern ON hashtags (tag varchar_pattern_ops)")
    op.create_table(
        "hashtag_trends",
        sa.Column("tag", sa.String(100), sa.ForeignKey("hashtags.tag", ondelete="CASCADE"), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("max_score_at", TS, nullable=False),
        _counter("accounts"),
        _counter("expected"),
        sa.Column("computed_at", TS, nullable=False),
    )
    op.create_index("ix_hashtag_trends_score", "hashtag_trends", ["score", "tag"])
    op.create_table(
        "comments",
        sa.Column("id", sa.String(32), primary_key=True),
        _video("video_id"),
        _user("author_id"),
        sa.Column(
            "parent_id", sa.String(32), sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        _counter("likes"),
        _counter("replies"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_comments_video", "comments", ["video_id", "parent_id", "created_at", "id"])
    op.create_index("ix_comments_parent", "comments", ["parent_id", "created_at", "id"])
    op.create_index("ix_comments_author_id", "comments", ["author_id"])
    for table, subject in (
        ("post_likes", "post_id"),
        ("video_likes", "video_id"),
        ("comment_likes", "comment_id"),
    ):
        target = {"post_id": "posts.id", "video_id": "videos.id", "comment_id": "comments.id"}[subject]
        op.create_table(
            table,
            sa.Column(subject, sa.String(32), sa.ForeignKey(target, ondelete="CASCADE"), primary_key=True),
            _user("user_id", primary_key=True),
            sa.Column("created_at", TS, nullable=False),
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
    op.create_table(
        "video_stats", _video("video_id", primary_key=True), _counter("likes"), _counter("comments")
    )
    _search()


def _search() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ref_id", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("kind", "ref_id", name="uq_search_documents_ref"),
    )
    op.create_table(
        "search_watermarks",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("at", TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents ADD COLUMN document tsvector NOT NULL")
        # Per kind, as a search looks in one: the words (GIN), and the newest first (where the
        # matches of a very common word are found without reading the other kinds' rows).
        for kind in ("video", "user", "post"):
            op.execute(
                f"CREATE INDEX ix_search_documents_document_{kind} ON search_documents "
                f"USING gin (document) WHERE kind = '{kind}'"
            )
            op.execute(
                f"CREATE INDEX ix_search_documents_newest_{kind} ON search_documents (id) "
                f"WHERE kind = '{kind}'"
            )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, tags, body, content='search_documents', "
            "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE search_fts")
    for table in (
        "search_watermarks",
        "search_documents",
        "video_stats",
        "comment_likes",
        "video_likes",
        "post_likes",
        "comments",
        "hashtag_trends",
        "hashtags",
        "post_mentions",
        "post_tags",
        "posts",
        "user_stats",
        "mutes",
        "blocks",
        "follows",
    ):
        op.drop_table(table)
