"""Upload housekeeping: the sweep of expired unfinished uploads."""

from __future__ import annotations

from typing import Any

from control_plane.uploads.service import UploadService
from storage.uploads import upload_store_for
from workers import runtime

__all__ = ["sweep"]


def sweep(job_id: str) -> dict[str, Any]:
    ctx = runtime.current()
    service = UploadService(ctx.db, upload_store_for(ctx.store), ctx.kv, ctx.settings, ctx.videos)
    return {"removed": service.sweep()}
