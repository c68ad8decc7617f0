"""Chunked transcoding: one long video split into parts that any worker can take.

Parts are ``run:N`` (a run of whole segments of every rung), ``audio`` and ``stills``
(thumbnails and storyboard); :mod:`workers.actors.chunked_plan` plans them and the video
service records which are done. Each part writes
deterministic keys, so a part that runs again after its worker died rewrites the same files.
Parts and the finalize reuse the probe of ``video.process`` and read the source by ranges: a run
fetches about its own share of the bytes, the audio reads it once, the finalize not at all;
the stills, which read it more than once, download it first. The part that completes the set
enqueues ``video.finalize``, which writes the manifests and marks the video ready.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from control_plane.videos import media_prefix
from pipelines import (
    make_storyboard,
    make_thumbnails,
    transcode_audio,
    transcode_run,
    write_manifests,
)
from workers import runtime
from workers.actors.chunked_plan import planned_runs
from workers.actors.source import PROBED, SEGMENT_SECONDS, TRANSCODED, Source, enqueue_for
from workers.actors.video import finish_video, while_there
from workers.publish import MANIFEST_SUFFIXES, upload_files

__all__ = ["part", "finalize"]

log = logging.getLogger(__name__)


def _media_files(folder: Path) -> list[Path]:
    """What a part wrote that viewers need: init and media segments, JPEGs and the WebVTT."""
    keep = (".m4s", ".jpg", ".vtt")
    return sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix in keep or p.name == "init.mp4"))


@while_there
def part(job_id: str) -> dict[str, Any]:
    """Do one part and upload what it wrote; the last part to finish enqueues the finalize job."""
    ctx = runtime.current()
    with Source.fetch(job_id) as src:
        name = str(src.job.args["part"])
        out = src.work
        if name.startswith("run:"):
            run = planned_runs(src.info)[int(name.removeprefix("run:"))]
            transcode_run(src.media, out, src.ladder, run, SEGMENT_SECONDS, info=src.info)
        elif name == "audio":
            bitrate = max((r.audio_bitrate for r in src.ladder), default=128_000)
            transcode_audio(src.media, out, segment_duration=SEGMENT_SECONDS, bitrate=bitrate, info=src.info)
        elif name == "stills":
            whole = src.download()  # the storyboard reads every frame after the thumbnails sought
            make_thumbnails(whole, out, src.info)
            make_storyboard(whole, out, src.info)
        else:
            raise ValueError(f"unknown part {name!r}")
        read = {"bytes": src.bytes_read, "size": src.info.size}
        log.info("part read its source", extra={"video_id": src.video_id, "part": name, **read})
        keys = upload_files(ctx.store, out, _media_files(out), media_prefix(src.video_id))
        if not ctx.videos.exists(src.video_id):  # deleted meanwhile: these files missed its purge
            ctx.store.delete_prefix(media_prefix(src.video_id))
            return {"video_id": src.video_id, "part": name, "skipped": "VIDEO_GONE"}
        if ctx.videos.part_done(src.video_id, name, start=PROBED, end=TRANSCODED):
            enqueue_for(src, "video.finalize")
    return {"video_id": src.video_id, "part": name, "files": len(keys)}


@while_there
def finalize(job_id: str) -> dict[str, Any]:
    """Gather every part's files, write the manifests, publish them last and mark the video ready."""
    ctx = runtime.current()
    with Source.fetch(job_id) as src:
        out = src.work
        prefix = media_prefix(src.video_id)
        present = set()
        for info in ctx.store.list(prefix):
            relative = info.key.removeprefix(prefix)
            if relative.endswith(MANIFEST_SUFFIXES):
                continue
            ctx.store.download(info.key, out / relative)
            present.add(info.key)
        result = write_manifests(out, src.ladder, src.info, SEGMENT_SECONDS)
        stills = [p for p in _media_files(out) if p.suffix in (".jpg", ".vtt")]
        return finish_video(src, out, stills + list(result.files), result, present=present)
