"""Deleting blobs the plane could not delete at once (the store was down when their rows went)."""

from __future__ import annotations

from typing import Any

from control_plane.core.leftovers import purge as purge_blobs
from control_plane.jobs.models import Job
from workers import runtime

__all__ = ["purge"]


def purge(job_id: str) -> dict[str, Any]:
    """Delete the job's ``keys`` and every blob under its ``prefixes``; a store error retries it."""
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        keys, prefixes = list(job.args.get("keys", [])), list(job.args.get("prefixes", []))
    return {"deleted": purge_blobs(ctx.store, keys, prefixes)}
