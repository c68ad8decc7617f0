"""Posts held for review (``posts.held``) and the peak of a live stream's concurrent viewers
(``live_streams.peak_viewers``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = (("posts", "held"), ("live_streams", "peak_viewers"))


def upgrade() -> None:
    # add_column, not batch mode: SQLite adds a column in place, with its default for every row
    op.add_column("posts", sa.Column("held", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("live_streams", sa.Column("peak_viewers", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    # Not batch mode: on SQLite it would copy the table into a new one and drop the old one,
    # and the drop deletes every row that references it (ON DELETE CASCADE). SQLite 3.35+ drops
    # a column in place.
    for table, column in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
