"""Moderation: cases with their severity, reports, appeals, video restrictions and the
pre-screening's watermarks.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _user(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "moderation_cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        _user("owner_id"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("held", sa.Boolean, nullable=False),
        sa.Column("severity", sa.Float, nullable=False),
        sa.Column("reporters", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_moderation_cases_queue", "moderation_cases", ["status", "severity", "id"])
    op.create_index(
        "ix_moderation_cases_subject", "moderation_cases", ["subject_type", "subject_id", "status"]
    )
    op.create_index("ix_moderation_cases_owner_id", "moderation_cases", ["owner_id"])
    op.create_table(
        "moderation_reports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "case_id", sa.String(32), sa.ForeignKey("moderation_cases.id", ondelete="CASCADE"), nullable=False
        ),
        _user("reporter_id", nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("case_id", "reporter_id", name="uq_moderation_reports_case_reporter"),
    )
    op.create_index("ix_moderation_reports_case_id", "moderation_reports", ["case_id"])
    op.create_index("ix_moderation_reports_reporter", "moderation_reports", ["reporter_id", "created_at"])
    op.create_table(
        "moderation_appeals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "case_id",
            sa.String(32),
            sa.ForeignKey("moderation_cases.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        _user("user_id"),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_moderation_appeals_status", "moderation_appeals", ["status", "created_at", "id"])
    op.create_index("ix_moderation_appeals_user_id", "moderation_appeals", ["user_id"])
    op.create_table(
        "video_restrictions",
        sa.Column(
            "video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column(
            "case_id", sa.String(32), sa.ForeignKey("moderation_cases.id", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_table(
        "moderation_watermarks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "moderation_watermarks",
        "video_restrictions",
        "moderation_appeals",
        "moderation_reports",
        "moderation_cases",
    ):
        op.drop_table(table)
