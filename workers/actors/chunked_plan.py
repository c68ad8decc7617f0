"""The plan of a chunked transcode: the runs a video is cut into, and its parts' jobs.

``video.process`` plans a long video here, records the parts with the video service and
enqueues one ``video.part`` job per part (each carrying the probe, see
:func:`workers.actors.source.enqueue_for`).
"""

from __future__ import annotations

import logging
from typing import Any

from pipelines import MediaInfo, Run, plan_runs
from workers import runtime
from workers.actors.source import SEGMENT_SECONDS, Source, enqueue_for

__all__ = ["planned_runs", "start_parts"]

log = logging.getLogger(__name__)


def planned_runs(info: MediaInfo) -> list[Run]:
    """The runs of whole segments a video of ``info`` is cut into, by this worker's settings."""
    return plan_runs(info, SEGMENT_SECONDS, runtime.current().settings.chunk_segments)


def start_parts(src: Source) -> dict[str, Any]:
    """Plan the parts of ``src`` and enqueue one job for each."""
    parts = [f"run:{r.index}" for r in planned_runs(src.info)] + ["audio", "stills"]
    runtime.current().videos.plan_parts(src.video_id, parts)
    for name in parts:
        enqueue_for(src, "video.part", part=name)
    log.info("chunked transcode planned", extra={"video_id": src.video_id, "parts": len(parts)})
    return {"video_id": src.video_id, "chunked": True, "parts": parts}
