"""The ads domain's job: a creative's progressive MP4.

The transcode publishes CMAF renditions (HLS and DASH); ad players also want a plain MP4. This job
takes the creative video's largest rendition up to 720 lines and its audio, remuxes them into one
``faststart`` MP4 (``pipelines.progressive``, no encoding) and publishes it as
``ad/creative.mp4`` under the video's media folder, so it is served, and deleted, with the video.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from control_plane.ads import AdService
from control_plane.jobs.models import Job
from control_plane.videos import media_key, media_prefix
from pipelines.progressive import concatenate, progressive_mp4
from workers import runtime

__all__ = ["creative", "CREATIVE_MP4", "MAX_LINES"]

log = logging.getLogger(__name__)

CREATIVE_MP4 = "ad/creative.mp4"
#: The largest rendition used, by its short side: ad players are often phones and smart TVs.
MAX_LINES = 720
_RUNG = re.compile(r"^(\d+)p\d*$")


def _service() -> AdService:
    ctx = runtime.current()
    s = ctx.settings
    return AdService(
        ctx.db,
        ctx.payments.ads,
        ctx.enqueue,
        currency=s.ads_currency,
        reserve_cpm=s.ads_reserve_cpm,
    )


def _rungs(keys: list[str], prefix: str) -> dict[str, list[str]]:
    """Folder name -> its keys, for every rendition folder that has an init segment."""
    folders: dict[str, list[str]] = {}
    for key in keys:
        rest = key[len(prefix) :]
        if "/" in rest:
            folder, _, name = rest.partition("/")
            folders.setdefault(folder, []).append(name)
    return {
        f: sorted(n for n in names if n.endswith(".m4s"))
        for f, names in folders.items()
        if "init.mp4" in names
    }


def _download(prefix: str, folder: str, names: list[str], work: Path) -> Path:
    store = runtime.current().store
    parts = []
    for name in ["init.mp4", *names]:
        path = work / f"{folder}-{name}"
        store.download(f"{prefix}{folder}/{name}", path)
        parts.append(path)
    return concatenate(parts, work / f"{folder}.fmp4")


def creative(job_id: str) -> dict[str, Any]:
    ctx = runtime.current()
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        creative_id, video_id = str(job.args["creative_id"]), str(job.args["video_id"])
    prefix = media_prefix(video_id)
    folders = _rungs([info.key for info in ctx.store.list(prefix)], prefix)
    video_rungs = {int(m.group(1)): f for f in folders if (m := _RUNG.match(f))}
    if not video_rungs:
        return {"skipped": "NO_RENDITIONS"}  # the video was removed meanwhile, or has no picture
    fitting = [lines for lines in video_rungs if lines <= MAX_LINES]
    rung = video_rungs[max(fitting) if fitting else min(video_rungs)]
    with tempfile.TemporaryDirectory(prefix="sf-ad-") as tmp:
        work = Path(tmp)
        video = _download(prefix, rung, folders[rung], work)
        audio = _download(prefix, "audio", folders["audio"], work) if "audio" in folders else None
        out = work / "creative.mp4"
        width, height, duration = progressive_mp4(video, audio, out)
        ctx.store.upload(out, media_key(video_id, CREATIVE_MP4), content_type="video/mp4")
    if not _service().packaged(creative_id, mp4=CREATIVE_MP4, width=width, height=height):
        return {"skipped": "CREATIVE_GONE"}
    log.info("ad creative packaged", extra={"creative_id": creative_id, "rendition": rung})
    return {
        "creative_id": creative_id,
        "rendition": rung,
        "width": width,
        "height": height,
        "duration": duration,
    }
