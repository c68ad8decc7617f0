"""Ads: campaigns, creatives, daily delivery counts, viewers' ad profiles, local spend records.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "ad_campaigns",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "advertiser_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("budget", sa.BigInteger, nullable=False),
        sa.Column("daily_budget", sa.BigInteger, nullable=True),
        sa.Column("cpm_bid", sa.Integer, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("targeting", sa.JSON, nullable=False),
        sa.Column("excluded_categories", sa.JSON, nullable=False),
        sa.Column("cap_impressions", sa.Integer, nullable=True),
        sa.Column("cap_seconds", sa.Integer, nullable=True),
        _count("spent_millis"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_ad_campaigns_advertiser", "ad_campaigns", ["advertiser_id", "created_at", "id"])
    op.create_index("ix_ad_campaigns_updated_at", "ad_campaigns", ["updated_at"])
    op.create_table(
        "ad_creatives",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "campaign_id", sa.String(32), sa.ForeignKey("ad_campaigns.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("video_id", sa.String(32), sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("click_url", sa.String(2000), nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("review_note", sa.String(500), nullable=True),
        sa.Column("reviewed_by", sa.String(32), nullable=True),
        sa.Column("mp4", sa.String(255), nullable=True),
        sa.Column("mp4_width", sa.Integer, nullable=True),
        sa.Column("mp4_height", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_ad_creatives_campaign_id", "ad_creatives", ["campaign_id"])
    op.create_index("ix_ad_creatives_video_id", "ad_creatives", ["video_id"])
    op.create_index("ix_ad_creatives_updated_at", "ad_creatives", ["updated_at"])
    op.create_table(
        "ad_daily_stats",
        sa.Column(
            "campaign_id",
            sa.String(32),
            sa.ForeignKey("ad_campaigns.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date, primary_key=True),
        *(
            _count(name)
            for name in (
                "impressions",
                "starts",
                "first_quartiles",
                "midpoints",
                "third_quartiles",
                "completes",
                "skips",
                "clicks",
                "spent_millis",
            )
        ),
    )
    op.create_table(
        "ad_viewer_profiles",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("birth_year", sa.SmallInteger, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
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


def downgrade() -> None:
    for table in ("ad_spend_entries", "ad_viewer_profiles", "ad_daily_stats", "ad_creatives", "ad_campaigns"):
        op.drop_table(table)
