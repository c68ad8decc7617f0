"""Migration 0014 moves the social domain's copies of the counts (``user_stats``,
``video_stats``) onto the channel and video rows that show them, on SQLite and PostgreSQL, and
its downgrade makes the copies again; on PostgreSQL it bounds the search GIN indexes' pending lists."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from control_plane.core import migrate
from control_plane.core.db import Database

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _rows(db: Database, sql: str) -> set[tuple]:
    with db.engine.connect() as conn:
        return {tuple(r) for r in conn.execute(sa.text(sql))}


def test_the_counts_move_onto_the_rows_that_show_them(database: Database) -> None:
    migrate.upgrade(database, "0013")
    with database.engine.begin() as conn:
        for name in ("ada", "bob", "cyd"):
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, username, username_key, email, password_hash, role, is_active, "
                    "created_at) VALUES (:n, :n, :n, :e, 'x', 'creator', true, :t)"
                ),
                {"n": name, "e": f"{name}@example.com", "t": NOW},
            )
        # bob has a channel row already (an edited profile); ada has none; cyd has no counts.
        conn.execute(
            sa.text("INSERT INTO channels (user_id, display_name, updated_at) VALUES ('bob', 'Bob', :t)"),
            {"t": NOW},
        )
        conn.execute(sa.text("INSERT INTO user_stats VALUES ('ada', 2, 1, 5), ('bob', 1, 2, 0)"))
        conn.execute(
            sa.text(
                "INSERT INTO videos (id, owner_id, title, status, visibility, progress, description, "
                "comment_policy, age_restricted, views, likes, comments, created_at, updated_at) VALUES "
                "('v1', 'ada', 'one', 'ready', 'public', 1, '', 'enabled', false, 7, 0, 0, :t, :t), "
                "('v2', 'ada', 'two', 'ready', 'public', 1, '', 'enabled', false, 0, 0, 0, :t, :t)"
            ),
            {"t": NOW},
        )
        conn.execute(sa.text("INSERT INTO video_stats VALUES ('v1', 3, 4)"))

    migrate.upgrade(database)
    assert _rows(database, "SELECT user_id, display_name, followers, following, posts FROM channels") == {
        ("ada", None, 2, 1, 5),
        ("bob", "Bob", 1, 2, 0),
    }
    assert _rows(database, "SELECT id, views, likes, comments FROM videos") == {
        ("v1", 7, 3, 4),
        ("v2", 0, 0, 0),
    }
    tables = set(sa.inspect(database.engine).get_table_names())
    assert not {"user_stats", "video_stats"} & tables
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as conn:
            options = conn.execute(
                sa.text(
                    "SELECT relname, reloptions FROM pg_class "
                    "WHERE relname LIKE 'ix_search_documents_document_%'"
                )
            ).all()
        assert {name: list(o) for name, o in options} == {
            f"ix_search_documents_document_{kind}": ["gin_pending_list_limit=256"]
            for kind in ("video", "user", "post")
        }

    config = migrate._config()
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0013")
    assert _rows(database, "SELECT * FROM user_stats") == {("ada", 2, 1, 5), ("bob", 1, 2, 0)}
    assert _rows(database, "SELECT * FROM video_stats") == {("v1", 3, 4), ("v2", 0, 0)}
