"""Processing a video once its source is uploaded: probe, transcode every rung in one decoding
pass with thumbnails and a storyboard riding along, publish, and mark it ready."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from control_plane.models import Job, Video
from pipelines import LadderConfig, MediaLimits, build_ladder, probe, transcode
from pipelines.storyboard import StoryboardBuilder
from pipelines.thumbnails import ThumbnailPicker
from workers import runtime
from workers.middleware import on_final_failure
from workers.publish import publish

__all__ = ["process", "SEGMENT_SECONDS", "media_prefix"]

log = logging.getLogger(__name__)

SEGMENT_SECONDS = 4.0
PROBED, TRANSCODED = 0.05, 0.90  # progress after each stage; publishing fills the rest


def media_prefix(video_id: str) -> str:
    return f"videos/{video_id}/"


class ProgressRecorder:
    """Writes a video's progress to the database, at most every ``every`` seconds."""

    def __init__(self, video_id: str, start: float, end: float, every: float = 1.0) -> None:
        self.video_id, self.start, self.end, self.every = video_id, start, end, every
        self._last = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < self.every and fraction < 1.0:
            return
        self._last = now
        _set(self.video_id, progress=round(self.start + (self.end - self.start) * fraction, 4))


def _set(video_id: str, **values: Any) -> None:
    with runtime.current().db.session() as session:
        video = session.get(Video, video_id)
        if video is not None:
            for name, value in values.items():
                setattr(video, name, value)


def _source(job_id: str) -> tuple[str, str]:
    with runtime.current().db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        video_id = str(job.args["video_id"])
        video = session.get(Video, video_id)
        if video is None or not video.source_key:
            raise LookupError(f"video {video_id} has no source to process")
        return video_id, video.source_key


def process(job_id: str) -> dict[str, Any]:
    """Bad input fails the job (and so the video) with the reason a creator can read."""
    ctx = runtime.current()
    video_id, source_key = _source(job_id)
    with tempfile.TemporaryDirectory(prefix="socialflow-video-") as tmp:
        source, out = Path(tmp) / "source", Path(tmp) / "out"
        ctx.store.download(source_key, source)
        info = probe(source, MediaLimits())
        _set(video_id, duration=info.duration, progress=PROBED, error=None)
        ladder = build_ladder(info, LadderConfig())
        sinks: list[Any] = []
        picker = builder = None
        if info.video is not None:
            picker, builder = ThumbnailPicker(info, out), StoryboardBuilder(info, out)
            sinks = [picker, builder]
        result = transcode(
            source,
            out,
            ladder,
            segment_duration=SEGMENT_SECONDS,
            info=info,
            frame_sinks=sinks,
            progress=ProgressRecorder(video_id, PROBED, TRANSCODED),
        )
        extra: list[Path] = []
        outputs: dict[str, Any] = {
            "hls": result.master.relative_to(out).as_posix(),
            "dash": result.manifest.relative_to(out).as_posix(),
        }
        if picker is not None and builder is not None:
            thumbs, board = picker.finish(), builder.finish()
            extra += [t.path for t in thumbs.candidates] + board.sprites + [board.vtt]
            if thumbs.poster is not None:
                extra.append(thumbs.poster.path)
                outputs["thumbnail"] = thumbs.poster.path.relative_to(out).as_posix()
            outputs["storyboard"] = board.vtt.relative_to(out).as_posix()
        files = extra + list(result.files)  # result.files ends with the manifests
        keys = publish(
            ctx.store,
            out,
            files,
            media_prefix(video_id),
            progress=ProgressRecorder(video_id, TRANSCODED, 1.0),
        )
    renditions = [
        {"width": r.width, "height": r.height, "bitrate": r.bitrate, "codec": r.codec}
        for r in [*result.renditions, *([result.audio] if result.audio else [])]
    ]
    _set(
        video_id,
        status="ready",
        progress=1.0,
        renditions=renditions,
        outputs=outputs,
        duration=result.duration,
        error="; ".join(info.warnings + result.warnings) or None,
    )
    log.info("video ready", extra={"video_id": video_id, "renditions": len(renditions), "files": len(keys)})
    return {
        "video_id": video_id,
        "duration": result.duration,
        "renditions": len(renditions),
        "files": len(keys),
    }


@on_final_failure("video.process")
def _mark_failed(session: Any, job: Job, reason: str) -> None:
    video = session.get(Video, job.args.get("video_id"))
    if video is not None:
        video.status, video.error = "failed", reason
