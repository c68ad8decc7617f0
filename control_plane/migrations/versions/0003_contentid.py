"""Content-ID references and claims.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contentid_references",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("video_id"),
    )
    op.create_index("ix_contentid_references_owner_id", "contentid_references", ["owner_id"])
    op.create_table(
        "contentid_claims",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "reference_id",
            sa.Integer,
            sa.ForeignKey("contentid_references.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("query_start", sa.Float, nullable=False),
        sa.Column("reference_start", sa.Float, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dispute_reason", sa.Text, nullable=True),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("video_id", "reference_id", name="uq_claim_video_reference"),
    )
    op.create_index("ix_contentid_claims_video_id", "contentid_claims", ["video_id"])
    op.create_index("ix_contentid_claims_reference_id", "contentid_claims", ["reference_id"])


def downgrade() -> None:
    op.drop_table("contentid_claims")
    op.drop_table("contentid_references")
