"""The payments domain's job: the monthly revenue share and payouts (``payouts.run``)."""

from __future__ import annotations

from typing import Any

from workers import runtime

__all__ = ["run_payouts"]


def run_payouts(job_id: str, month: str | None = None) -> dict[str, Any]:
    """Release held earnings, share ``month``'s pool by watch time and pay every creator due a
    payout (default: the previous month). Idempotent per (creator, month): safe to run again."""
    return runtime.current().payments.payouts.run(month)
