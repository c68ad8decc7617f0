"""Users' verified email addresses and videos' visibility.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("videos") as batch:
        batch.add_column(sa.Column("visibility", sa.String(16), nullable=False, server_default="public"))


def downgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.drop_column("visibility")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
