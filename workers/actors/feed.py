"""The home feed's jobs: pushing a share into followers' timelines, and training the ranked
feed's model."""

from __future__ import annotations

from typing import Any

from control_plane.jobs.models import Job
from workers import runtime

__all__ = ["fanout", "train"]


def fanout(job_id: str) -> dict[str, Any]:
    """Push the job's item (``args.seq``) to its author's active followers; idempotent (a
    timeline keeps one entry per item, the newest share's)."""
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        seq = int((job.args or {})["seq"])
    return ctx.feed.fanout(seq)


def train(job_id: str) -> dict[str, Any]:
    """Fit the ranked feed's model and store it; its held-out AUC beside recency's."""
    return runtime.current().feed.train()
