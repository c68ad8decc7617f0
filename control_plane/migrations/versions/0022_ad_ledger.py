"""Ad money moves to the payments ledger: ad_spend_entries (the local spend port's records) goes,
ad_earnings (what ads on each video earned each user per day, the ledger's breakdown) comes, and
on PostgreSQL a text_pattern_ops index lets a campaign's ledger transactions be found by prefix.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # a campaign's spend: LIKE 'ad:{campaign}:%'
        op.create_index(
            "ix_ledger_transactions_reference_prefix",
            "ledger_transactions",
            ["reference"],
            postgresql_ops={"reference": "text_pattern_ops"},
        )
    op.drop_index("ix_ad_spend_user", table_name="ad_spend_entries")
    op.drop_index("ix_ad_spend_entries_campaign_id", table_name="ad_spend_entries")
    op.drop_table("ad_spend_entries")
    op.create_table(
        "ad_earnings",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("video_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_ledger_transactions_reference_prefix", table_name="ledger_transactions")
    op.drop_table("ad_earnings")
    op.create_table(
        "ad_spend_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "campaign_id", sa.String(32), sa.ForeignKey("ad_campaigns.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("video_id", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_millis", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_ad_spend_entries_campaign_id", "ad_spend_entries", ["campaign_id"])
    op.create_index("ix_ad_spend_user", "ad_spend_entries", ["user_id", "kind", "currency"])
