"""The comments waiting for a review, by author and video (``ix_comments_pending``): an author's
own held or screened comments are shown to them among a video's visible ones.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

PENDING = sa.text("status <> 'visible'")


def upgrade() -> None:
    op.create_index(
        "ix_comments_pending",
        "comments",
        ["author_id", "video_id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_comments_pending", table_name="comments")
