"""The video domain's service: the one place a video's state changes.

A video goes ``uploading`` → ``processing`` → ``ready`` or ``failed``; a hold that another domain
puts on it (a blocking Content-ID claim) makes it ``blocked`` until the hold lifts. Uploads, the
processing jobs, live recordings and Content-ID all call this service; none of them writes a
video's status, progress or outputs themselves.

Methods that take a ``session`` join the caller's transaction (the upload service makes the
video in the same commit as its upload row); the others open their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Conflict, Forbidden, NotFound
from control_plane.videos.models import Video

__all__ = ["Hold", "JobLedger", "VideoService", "VideoSource"]

log = logging.getLogger(__name__)

#: Given the video id column, an SQL condition that keeps the video ``blocked`` while true.
Hold = Callable[[Any], sa.ColumnElement[bool]]


#: The jobs a retry starts again: the transcode always, the others when their latest run failed.
RETRIED_KINDS = ("video.process", "contentid.match")


class JobLedger(Protocol):
    """What a retry needs to know of a video's jobs (``control_plane.jobs.JobQueue`` is one)."""

    def recover(self, subject: str | None = None) -> list[str]:
        """Send again the jobs of ``subject`` whose process stopped; their ids."""
        ...

    def active(self, subject: str) -> set[str]:
        """The kinds of the jobs about ``subject`` that are queued or running."""
        ...

    def states(self, subject: str) -> dict[str, str]:
        """The status of the latest job of each kind about ``subject``."""
        ...


@dataclass(frozen=True)
class VideoSource:
    """What a processing job needs to fetch a video's original."""

    video_id: str
    owner_id: str
    source_key: str


class VideoService:
    """Owns every change of a video's status, progress, outputs and metadata.

    ``enqueue(kind, *, args, owner_id, subject)`` is the jobs port that starts processing;
    ``holds`` are the conditions other domains register to keep a video blocked; ``jobs`` tells
    a retry where the video's jobs stand (needed by :meth:`retry` only).
    """

    def __init__(
        self,
        db: Database,
        enqueue: Callable[..., object],
        *,
        holds: Sequence[Hold] = (),
        jobs: JobLedger | None = None,
    ) -> None:
        self.db = db
        self.enqueue = enqueue
        self.holds = tuple(holds)
        self.jobs = jobs

    # -- creation ---------------------------------------------------------------------------

    @staticmethod
    def add_upload(
        session: Session, video_id: str, owner_id: str, *, title: str, filename: str | None
    ) -> None:
        """A video for an upload that has just been created: ``uploading``, progress 0."""
        session.add(
            Video(
                id=video_id,
                owner_id=owner_id,
                title=title,
                filename=filename,
                status="uploading",
                progress=0.0,
            )
        )

    def add_recording(
        self, video_id: str, owner_id: str, *, title: str, filename: str, size: int, source_key: str
    ) -> bool:
        """A video made from a finished live session's recording, processing at once.

        Idempotent: False (and nothing enqueued) when the video exists already.
        """
        with self.db.session() as session:
            if session.get(Video, video_id) is not None:
                return False
            session.add(
                Video(
                    id=video_id,
                    owner_id=owner_id,
                    title=title[:200],
                    filename=filename,
                    status="processing",
                    progress=0.0,
                    size=size,
                    source_key=source_key,
                )
            )
        self._enqueue(video_id, owner_id, ("video.process",))
        return True

    # -- uploads ----------------------------------------------------------------------------

    @staticmethod
    def upload_progress(session: Session, video_id: str, fraction: float) -> None:
        """The share of the source received so far, while the video is still uploading."""
        video = session.get(Video, video_id)
        if video is not None and video.status == "uploading":
            video.progress = round(fraction, 4)

    @staticmethod
    def source_arrived(session: Session, video_id: str, *, size: int, source_key: str) -> None:
        """The upload is complete: the video is ``processing`` with its source in the store."""
        video = session.get(Video, video_id, with_for_update=True)
        if video is not None:
            video.status, video.progress, video.size, video.source_key = "processing", 0.0, size, source_key

    @staticmethod
    def discard_upload(session: Session, video_id: str) -> None:
        """Remove the video of an upload that ended unfinished (nothing happens once it is past)."""
        session.execute(sa.delete(Video).where(Video.id == video_id, Video.status == "uploading"))

    def process(self, video_id: str) -> None:
        """A finished upload starts its transcode and its Content-ID match, neither waiting on the other."""
        with self.db.session() as session:
            video = session.get(Video, video_id)
            owner = video.owner_id if video is not None else None
        self._enqueue(video_id, owner, ("video.process", "contentid.match"))

    def _enqueue(self, video_id: str, owner_id: str | None, kinds: Sequence[str]) -> None:
        for kind in kinds:
            self.enqueue(kind, args={"video_id": video_id}, owner_id=owner_id, subject=f"video:{video_id}")

    # -- processing -------------------------------------------------------------------------

    def source(self, video_id: str) -> VideoSource:
        """The video's original; raises LookupError when the video or its source is gone."""
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None or not video.source_key:
                raise LookupError(f"video {video_id} has no source")
            return VideoSource(video.id, video.owner_id, video.source_key)

    def began(self, video_id: str, *, duration: float | None, progress: float) -> None:
        """Processing has probed the source: its duration is known and any old error is cleared."""
        self._set(video_id, duration=duration, progress=progress, error=None)

    def progressed(self, video_id: str, progress: float) -> None:
        """``progress`` runs 0..1 over the whole of processing."""
        self._set(video_id, progress=round(progress, 4))

    def plan_parts(self, video_id: str, parts: Sequence[str]) -> None:
        """A chunked transcode split into ``parts``; none done yet."""
        with self.db.session() as session:
            video = session.get(Video, video_id, with_for_update=True)
            if video is None:
                raise LookupError(f"video {video_id} is gone")
            video.outputs = {"chunked": {"parts": list(parts), "done": [], "finalizing": False}}

    def part_done(self, video_id: str, name: str, *, start: float, end: float) -> bool:
        """Record a finished part and move progress between ``start`` and ``end`` by the share done.

        True for exactly one caller: the one that completes the set (it finalizes the video).
        """
        with self.db.session() as session:
            video = session.get(Video, video_id, with_for_update=True)
            if video is None or not video.outputs or "chunked" not in video.outputs:
                return False
            state = video.outputs["chunked"]
            if name not in state["done"]:
                state["done"].append(name)
            video.progress = round(start + (end - start) * len(state["done"]) / len(state["parts"]), 4)
            last = set(state["done"]) >= set(state["parts"]) and not state["finalizing"]
            if last:
                state["finalizing"] = True
            flag_modified(video, "outputs")
            return last

    def finished(
        self,
        video_id: str,
        *,
        renditions: list[dict[str, Any]],
        outputs: dict[str, Any],
        duration: float,
        warnings: Sequence[str],
    ) -> None:
        """Processing published every file: the video is ``ready`` unless a hold keeps it blocked."""
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                return
            video.progress, video.renditions, video.outputs = 1.0, renditions, outputs
            video.duration = duration
            video.error = "; ".join(warnings) or None
            session.flush()
            self.settle(session, video_id, transcoded=True)

    @staticmethod
    def failed(session: Session, video_id: str, reason: str) -> None:
        """Processing gave up; ``reason`` is written for the creator."""
        video = session.get(Video, video_id)
        if video is not None:
            video.status, video.error = "failed", reason

    def settle(self, session: Session, video_id: str, *, transcoded: bool | None = None) -> None:
        """Set the status the video's holds call for, in one statement (so that a transcode
        finishing and a hold landing at the same moment cannot overwrite each other).

        A held video is ``blocked``. Otherwise a ``transcoded`` video is ``ready``, and one whose
        transcode has not finished leaves ``blocked`` for ``processing`` and keeps any other
        status. ``transcoded=None`` reads it from the video's outputs (a hold that lifts later).
        """
        if transcoded is None:
            video = session.get(Video, video_id)
            if video is None:
                return
            transcoded = bool((video.outputs or {}).get("hls"))
        status: Any = sa.literal("ready")
        if not transcoded:
            status = sa.case((Video.status == "blocked", sa.literal("processing")), else_=Video.status)
        if self.holds:
            held = sa.or_(*(hold(Video.id) for hold in self.holds))
            status = sa.case((held, sa.literal("blocked")), else_=status)
        session.execute(
            sa.update(Video)
            .where(Video.id == video_id)
            .values(status=status)
            .execution_options(synchronize_session=False)
        )
        session.expire_all()

    def _set(self, video_id: str, **values: Any) -> None:
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is not None:
                for name, value in values.items():
                    setattr(video, name, value)

    # -- the owner's changes ----------------------------------------------------------------

    def retry(self, owner_id: str, video_id: str) -> None:
        """Run a failed video's processing again, or a stuck one's; the owner only.

        A processing video whose jobs' process stopped has them sent again. Otherwise, once no
        job of the video is queued or running, a failed video (or a processing one whose work was
        lost before it was enqueued) is ``processing`` again and its transcode starts anew, with
        its Content-ID match if that failed too. Raises ``NotFound``, ``Forbidden``
        (not the owner), ``Conflict`` ``VIDEO_PROCESSING`` (a job of it is queued or running) or
        ``VIDEO_NOT_RETRYABLE`` (uploading, ready or blocked).
        """
        if self.jobs is None:
            raise RuntimeError("this VideoService was built without a job ledger; it cannot retry")
        subject = f"video:{video_id}"
        with self.db.session() as session:
            video = _owned(session, owner_id, video_id, "retry")
            status, seen = video.status, video.updated_at
        if status not in ("failed", "processing"):
            raise Conflict(
                f"The video is {status}; only a failed video, or one whose processing stopped, "
                "can be retried.",
                code="VIDEO_NOT_RETRYABLE",
            )
        if self.jobs.recover(subject) and status == "processing":
            return
        if self.jobs.active(subject):
            raise Conflict(
                "The video is being processed; retry when it has failed or stopped making progress.",
                code="VIDEO_PROCESSING",
            )
        with self.db.session() as session:
            # Of two retries at once, only the first moves the video on (and so starts its jobs).
            moved = session.execute(
                sa.update(Video)
                .where(Video.id == video_id, Video.status == status, Video.updated_at == seen)
                .values(status="processing", progress=0.0, error=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if not getattr(moved, "rowcount", 0):
                raise Conflict("The video changed meanwhile; look at it again.", code="VIDEO_PROCESSING")
        latest = self.jobs.states(subject)
        kinds = [kind for kind in RETRIED_KINDS if kind == "video.process" or latest.get(kind) == "failed"]
        self._enqueue(video_id, owner_id, kinds)

    def update(self, owner_id: str, video_id: str, *, title: str | None, visibility: str | None) -> None:
        """Change the title or the visibility; the owner only (``Forbidden`` otherwise)."""
        with self.db.session() as session:
            video = _owned(session, owner_id, video_id, "change")
            if title is not None:
                video.title = title
            if visibility is not None:
                video.visibility = visibility


def _owned(session: Session, owner_id: str, video_id: str, verb: str) -> Video:
    """The video, if ``owner_id`` owns it; ``NotFound`` or ``Forbidden`` (naming ``verb``) otherwise."""
    video = session.get(Video, video_id)
    if video is None:
        raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    if video.owner_id != owner_id:
        raise Forbidden(f"Only the video's owner can {verb} it.", code="NOT_OWNER")
    return video
