"""Processing a video once its source is uploaded.

Short videos take one pass: probe, transcode every rung in one decoding pass with thumbnails and a
storyboard riding along, publish, mark ready. Long videos are split: the ``video.part`` jobs
(runs of whole segments, the audio, the stills) go to any worker, and the last one to finish
enqueues ``video.finalize``, which writes the manifests once every part is in.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from control_plane.jobs.models import Job
from control_plane.videos import VideoGone, media_prefix
from pipelines import transcode, use_chunked
from pipelines.storyboard import StoryboardBuilder
from pipelines.thumbnails import ThumbnailPicker
from workers import runtime
from workers.actors.chunked_plan import start_parts
from workers.actors.source import PROBED, SEGMENT_SECONDS, TRANSCODED, Source
from workers.middleware import on_final_failure
from workers.publish import publish

__all__ = ["process", "finish_video", "ProgressRecorder", "while_there"]

log = logging.getLogger(__name__)


class ProgressRecorder:
    """Records a video's progress through the video service, at most every ``every`` seconds."""

    def __init__(self, video_id: str, start: float, end: float, every: float = 1.0) -> None:
        self.video_id, self.start, self.end, self.every = video_id, start, end, every
        self._last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < self.every and fraction < 1.0:
            return
        self._last = now
        runtime.current().videos.progressed(self.video_id, self.start + (self.end - self.start) * fraction)


def while_there(actor: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """Run a video job unless its video was deleted: then it ends at once, done, with nothing to do
    (retrying would not bring the video back)."""

    @functools.wraps(actor)
    def run(job_id: str) -> dict[str, Any]:
        try:
            return actor(job_id)
        except VideoGone as exc:
            log.info("video job %s skipped: %s", job_id, exc)
            return {"skipped": "VIDEO_GONE"}

    return run


@while_there
def process(job_id: str) -> dict[str, Any]:
    """Bad input fails the job (and so the video) with the reason a creator can read."""
    ctx = runtime.current()
    with Source.fetch(job_id) as src:
        ctx.videos.began(src.video_id, duration=src.info.duration, progress=PROBED)
        if use_chunked(src.info, ctx.settings.chunked_min_duration):
            return start_parts(src)
        return _single_pass(src)


def _single_pass(src: Source) -> dict[str, Any]:
    out, info = src.work, src.info
    sinks: list[Any] = []
    picker = builder = None
    if info.video is not None:
        picker, builder = ThumbnailPicker(info, out), StoryboardBuilder(info, out)
        sinks = [picker, builder]
    result = transcode(
        src.media,
        out,
        src.ladder,
        segment_duration=SEGMENT_SECONDS,
        info=info,
        frame_sinks=sinks,
        progress=ProgressRecorder(src.video_id, PROBED, TRANSCODED),
    )
    stills: list[Path] = []
    if picker is not None and builder is not None:
        thumbs, board = picker.finish(), builder.finish()
        stills = [t.path for t in thumbs.candidates] + ([thumbs.poster.path] if thumbs.poster else [])
        stills += [*board.sprites, board.vtt]
    return finish_video(src, out, stills + list(result.files), result, present=())


def finish_video(
    src: Source, out: Path, files: list[Path], result: Any, *, present: set[str] | tuple[()]
) -> dict:
    """Publish (manifests last), then mark the video ready with its renditions and playback paths."""
    ctx = runtime.current()
    keys = publish(
        ctx.store,
        out,
        files,
        media_prefix(src.video_id),
        progress=ProgressRecorder(src.video_id, TRANSCODED, 1.0),
        present=present,
    )
    outputs: dict[str, Any] = {
        "hls": result.master.relative_to(out).as_posix(),
        "dash": result.manifest.relative_to(out).as_posix(),
    }
    for name, relative in (
        ("thumbnail", "thumbnails/poster.jpg"),
        ("storyboard", "storyboard/storyboard.vtt"),
    ):
        if (out / relative).is_file():
            outputs[name] = relative
    renditions = [
        {"width": r.width, "height": r.height, "bitrate": r.bitrate, "codec": r.codec}
        for r in [*result.renditions, *([result.audio] if result.audio else [])]
    ]
    if not ctx.videos.finished(
        src.video_id,
        renditions=renditions,
        outputs=outputs,
        duration=result.duration,
        warnings=src.info.warnings + result.warnings,
    ):
        # Deleted while it was being processed: what was just published may have missed its purge.
        ctx.store.delete_prefix(media_prefix(src.video_id))
        return {"video_id": src.video_id, "skipped": "VIDEO_GONE"}
    log.info(
        "video ready", extra={"video_id": src.video_id, "renditions": len(renditions), "files": len(keys)}
    )
    return {
        "video_id": src.video_id,
        "duration": result.duration,
        "renditions": len(renditions),
        "files": len(keys),
    }


@on_final_failure("video.process")
@on_final_failure("video.part")
@on_final_failure("video.finalize")
def _mark_failed(session: Any, job: Job, reason: str) -> None:
    runtime.current().videos.failed(session, str(job.args.get("video_id")), reason)
