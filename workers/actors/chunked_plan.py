"""The plan of a chunked transcode, kept with its video: the parts and which of them are done.

``video.process`` plans a long video here and enqueues one ``video.part`` job per part (each
carrying the probe, see :func:`workers.actors.source.enqueue_for`); each part marks itself
done here, and the one that completes the set enqueues ``video.finalize``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from control_plane.models import Video
from pipelines import MediaInfo, Run, plan_runs
from workers import runtime
from workers.actors.source import PROBED, SEGMENT_SECONDS, TRANSCODED, Source, enqueue_for

__all__ = ["mark_done", "planned_runs", "start_parts"]

log = logging.getLogger(__name__)


def planned_runs(info: MediaInfo) -> list[Run]:
    """The runs of whole segments a video of ``info`` is cut into, by this worker's settings."""
    return plan_runs(info, SEGMENT_SECONDS, runtime.current().settings.chunk_segments)


def start_parts(src: Source) -> dict[str, Any]:
    """Plan the parts of ``src`` and enqueue one job for each."""
    parts = [f"run:{r.index}" for r in planned_runs(src.info)] + ["audio", "stills"]
    with runtime.current().db.session() as session:
        video = session.get(Video, src.video_id, with_for_update=True)
        assert video is not None
        video.outputs = {"chunked": {"parts": parts, "done": [], "finalizing": False}}
    for name in parts:
        enqueue_for(src, "video.part", part=name)
    log.info("chunked transcode planned", extra={"video_id": src.video_id, "parts": len(parts)})
    return {"video_id": src.video_id, "chunked": True, "parts": parts}


def mark_done(video_id: str, name: str) -> bool:
    """Record a finished part; True for exactly one caller: the one that completes the set."""
    with runtime.current().db.session() as session:
        video = session.get(Video, video_id, with_for_update=True)
        if video is None or not video.outputs or "chunked" not in video.outputs:
            return False
        state = video.outputs["chunked"]
        if name not in state["done"]:
            state["done"].append(name)
        complete = set(state["done"]) >= set(state["parts"])
        video.progress = round(PROBED + (TRANSCODED - PROBED) * len(state["done"]) / len(state["parts"]), 4)
        if complete and not state["finalizing"]:
            state["finalizing"] = True
            flag_modified(video, "outputs")
            return True
        flag_modified(video, "outputs")
        return False
