"""The recording a dead ingest left on disk, stored so that its session still becomes a video."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from control_plane.live import Recording, store_recording
from pipelines.live import seal_recording
from storage import BlobStore

__all__ = ["recover_recording"]

log = logging.getLogger(__name__)


def recover_recording(store: BlobStore, work_dir: Path, stream_id: str, *, quiet_s: float) -> Recording | str:
    """Store the newest recording a dead ingest left under ``work_dir/<stream_id>/``.

    Only a file untouched for ``quiet_s`` seconds is taken (a living ingest appends to its file
    many times a second). Returns the stored ``Recording``, or why there is none, in words.
    """
    folder = work_dir / stream_id
    files = sorted(folder.glob("*.flv"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not files:
        return f"no recording of this session under {folder} on this machine"
    path = files[-1]
    if time.time() - path.stat().st_mtime < quiet_s:
        return f"{path} is still being written"
    try:
        duration = seal_recording(path)
        recording = store_recording(store, stream_id, path, duration)
        if recording is None:
            return f"the recording is too short to keep ({duration:.2f} s)"
    finally:
        path.unlink(missing_ok=True)
    log.info("recording of a lost live session stored", extra={"stream_id": stream_id, "key": recording.key})
    return recording
