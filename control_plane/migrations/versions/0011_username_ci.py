"""Usernames unique whatever their case: users.username_key.

Every username so far is ASCII (letters, digits, '.', '_', '-'), whose NFKC case fold is SQL
``lower()``: the key is filled in one statement. Accounts made before this migration whose names
differ only by case keep working: the oldest takes the key, each later one gets ``#<its id>`` (no
real key has a ``#``) and signs in by its exact name. They are listed in a warning, so an operator
can rename them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("username", sa.String),
    sa.column("username_key", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(64), nullable=True))
    conn = op.get_bind()
    conn.execute(sa.update(users).values(username_key=sa.func.lower(users.c.username)))
    folded = sa.func.lower(users.c.username)
    others = users.alias("others")
    clashing = (
        sa.select(sa.func.lower(others.c.username))
        .group_by(sa.func.lower(others.c.username))
        .having(sa.func.count() > 1)
    )
    rows = conn.execute(
        sa.select(users.c.id, users.c.username, folded.label("key"))
        .where(folded.in_(clashing))
        .order_by(folded, users.c.created_at, users.c.id)
    ).all()
    first_of: dict[str, str] = {}
    for user_id, username, key in rows:
        if key not in first_of:
            first_of[key] = username
            continue
        conn.execute(sa.update(users).where(users.c.id == user_id).values(username_key=f"#{user_id}"))
        log.warning(
            "username %r differs from the older %r only by case: it keeps signing in by its exact name; "
            "rename one of them",
            username,
            first_of[key],
        )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(64), nullable=False)
        batch.create_index("ix_users_username_key", ["username_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_username_key")
        batch.drop_column("username_key")
