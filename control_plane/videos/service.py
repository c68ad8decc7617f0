"""The video domain's service: the one place a video's state changes.

A video goes ``uploading`` → ``processing`` → ``ready`` or ``failed``; a hold that another domain
puts on it (a blocking Content-ID claim) makes a processed video ``blocked`` until the hold lifts
(while it is still processing it stays ``processing``: ``blocked`` is finished work, progress 1).
Uploads, the processing jobs, live recordings and Content-ID all call this service; none of them
writes a video's status, progress or outputs themselves.

Methods that take a ``session`` join the caller's transaction (the upload service makes the
video in the same commit as its upload row); the others open their own.

Removing a video deletes its rows, those of other domains through the *removers* they register
(``on_remove``: the upload row, Content-ID's reference and its index entry), and then every blob
under the video's keys (see ``control_plane.core.leftovers`` for why in that order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from control_plane.core.counts import count_changes
from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Conflict, Forbidden, NotFound
from control_plane.core.events import EventHub
from control_plane.core.leftovers import Leftovers
from control_plane.videos.events import VideoFailed, VideoPublished, VideoReady
from control_plane.videos.keys import media_prefix
from control_plane.videos.metadata import clean_changes
from control_plane.videos.models import Video, VideoGeoBlock, VideoTag
from storage import BlobStore

__all__ = ["COUNTS", "Access", "Hold", "JobLedger", "Remover", "VideoGone", "VideoService", "VideoSource"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hold:
    """A condition another domain puts on videos: a video is ``blocked`` while it ``applies``.

    ``applies(video_id)`` is an SQL condition, given the video id column (or a video id);
    ``reason`` says why, in words for the creator; ``see`` is the API path (``{video_id}`` filled
    in) where the creator finds what holds the video, and can act on it.
    """

    applies: Callable[[Any], sa.ColumnElement[bool]]
    reason: str
    see: str


@dataclass(frozen=True)
class Access:
    """Who may watch a video of a visibility another domain decides (``members``: payments).

    ``allows(session, video, viewer_id)`` is True when the signed-in viewer may watch; the owner
    and moderators always may, and anonymous viewers never do.
    """

    visibility: str
    allows: Callable[[Session, Video, str], bool]


#: Visibilities anyone may watch, signed in or not (``unlisted``: anyone holding the link).
OPEN = ("public", "unlisted")


#: Another domain's part in removing a video: in the removing transaction, delete or release its
#: own rows of the video and add to the leftovers the blobs and the work that follow the commit.
Remover = Callable[[Session, Video, Leftovers], None]
#: The counts kept on a video row (``add_counts``).
COUNTS = ("views", "likes", "comments")


class VideoGone(LookupError):
    """The video (or its source) is not there any more: it was deleted. A job about it stops."""


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
    """Owns every change of a video's status, progress, outputs, metadata and counts, and its removal.

    ``enqueue(kind, *, args, owner_id, subject)`` is the jobs port that starts processing;
    ``store`` holds the video's files; ``holds`` are the conditions other domains register to keep
    a video blocked; ``jobs`` tells a retry where the video's jobs stand (needed by :meth:`retry`
    only); ``events`` hears ``VideoPublished`` when a video becomes ready and public.
    """

    def __init__(
        self,
        db: Database,
        enqueue: Callable[..., object],
        store: BlobStore,
        *,
        holds: Sequence[Hold] = (),
        jobs: JobLedger | None = None,
        events: EventHub | None = None,
    ) -> None:
        self.db = db
        self.enqueue = enqueue
        self.store = store
        self.holds = tuple(holds)
        self.jobs = jobs
        #: Where ``VideoReady``, ``VideoFailed`` and ``VideoPublished`` are announced once
        #: committed (none: not at all).
        self.events = events
        self.removers: list[Remover] = []
        self.access: dict[str, Access] = {}

    def grant(self, access: Access) -> None:
        """Register the rule of a visibility another domain decides (at wiring)."""
        self.access[access.visibility] = access

    def may_watch(self, session: Session, video: Video, viewer_id: str | None) -> bool:
        """True when the viewer may see and play the ready video by its visibility: anyone for
        ``public`` and ``unlisted``, the rule registered for its visibility otherwise (``private``
        has none: the owner, moderators and holders of signed playback tokens only)."""
        if video.visibility in OPEN:
            return True
        rule = self.access.get(video.visibility)
        return viewer_id is not None and rule is not None and rule.allows(session, video, viewer_id)

    def on_remove(self, remover: Remover) -> None:
        """Register another domain's part in removing a video (run in registration order)."""
        self.removers.append(remover)

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
        """The video's original; raises ``VideoGone`` when the video or its source is gone."""
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None or not video.source_key:
                raise VideoGone(f"video {video_id} has no source")
            return VideoSource(video.id, video.owner_id, video.source_key)

    def began(self, video_id: str, *, duration: float | None, progress: float) -> None:
        """Processing has probed the source: its duration is known and any old error is cleared."""
        self._set(video_id, duration=duration, progress=progress, error=None)

    def progressed(self, video_id: str, progress: float) -> None:
        """``progress`` runs 0..1 over the whole of processing."""
        self._set(video_id, progress=round(progress, 4))

    def plan_parts(self, video_id: str, parts: Sequence[str]) -> None:
        """A chunked transcode split into ``parts``; none done yet."""
        with self.db.session(exclusive=True) as session:
            video = session.get(Video, video_id, with_for_update=True)
            if video is None:
                raise LookupError(f"video {video_id} is gone")
            video.outputs = {"chunked": {"parts": list(parts), "done": [], "finalizing": False}}

    def part_done(self, video_id: str, name: str, *, start: float, end: float) -> bool:
        """Record a finished part and move progress between ``start`` and ``end`` by the share done.

        True for exactly one caller: the one that completes the set (it finalizes the video).
        """
        with self.db.session(exclusive=True) as session:
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
    ) -> bool:
        """Processing published every file: the video is ``ready`` unless a hold keeps it blocked.

        False when the video was removed meanwhile: the caller removes the files it published.
        """
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                return False
            video.progress, video.renditions, video.outputs = 1.0, renditions, outputs
            video.duration = duration
            video.error = "; ".join(warnings) or None
            session.flush()
            self.settle(session, video_id, transcoded=True)  # announces it if it became public
        return True

    def _published(self, video_id: str, owner_id: str) -> None:
        if self.events is not None:
            self.events.publish(VideoPublished(video_id=video_id, owner_id=owner_id))

    def exists(self, video_id: str) -> bool:
        """Whether the video is still there (a job asks after writing files, see ``remove``)."""
        with self.db.session() as session:
            return session.get(Video, video_id) is not None

    def failed(self, session: Session, video_id: str, reason: str) -> None:
        """Processing gave up; ``reason`` is written for the creator (and ``VideoFailed`` told once
        the caller's transaction commits)."""
        video = session.get(Video, video_id)
        if video is not None:
            was = video.status
            video.status, video.error = "failed", reason
            if was != "failed" and self.events is not None:
                self.events.after_commit(session, VideoFailed(video_id, video.owner_id, reason))

    def settle(self, session: Session, video_id: str, *, transcoded: bool | None = None) -> None:
        """Set the status the video's holds call for, in one statement (so that a transcode
        finishing and a hold landing at the same moment cannot overwrite each other).

        A held video is ``blocked`` once it is transcoded (``ready`` or ``blocked`` already, or
        ``transcoded``) and keeps its status until then. An unheld ``transcoded`` video is
        ``ready``; one whose transcode has not finished leaves ``blocked`` for ``processing`` and
        keeps any other status. ``transcoded=None`` reads it from the video's outputs (a hold that
        lifts later); ``False`` means not known to be (the status still tells).
        The first time a video is ``ready`` is its ``published_at``. A video that becomes
        ``ready`` while public (transcoded, or a Content-ID or screening hold lifted) is announced
        as ``VideoPublished`` once the caller's transaction commits, so followers' feeds get it.
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
            held = sa.or_(*(hold.applies(Video.id) for hold in self.holds))
            done = sa.true() if transcoded else Video.status.in_(("ready", "blocked"))
            status = sa.case((sa.and_(held, done), sa.literal("blocked")), (held, Video.status), else_=status)
        published = sa.func.coalesce(
            Video.published_at, sa.case((status == "ready", sa.literal(utcnow(), Video.published_at.type)))
        )
        unpublished = self.events is not None and session.scalar(
            sa.select(Video.id).where(Video.id == video_id, Video.published_at.is_(None))
        )
        was_ready = self.events is not None and session.scalar(
            sa.select(Video.id).where(Video.id == video_id, Video.status == "ready")
        )
        session.execute(
            sa.update(Video)
            .where(Video.id == video_id)
            .values(status=status, published_at=published)
            .execution_options(synchronize_session=False)
        )
        session.expire_all()
        if self.events is not None and (unpublished or not was_ready):
            video = session.get(Video, video_id)
            if unpublished and video is not None and video.published_at is not None:
                ready = VideoReady(video.id, video.owner_id, video.visibility, video.title)
                self.events.after_commit(session, ready)
            if not was_ready and video is not None and _public(video):
                self.events.after_commit(session, VideoPublished(video_id=video.id, owner_id=video.owner_id))

    def hold_on(self, video_id: str) -> Hold | None:
        """The first of the holds that applies to the video now, or None."""
        with self.db.session() as session:
            for hold in self.holds:
                if session.scalar(sa.select(hold.applies(video_id))):
                    return hold
        return None

    def _set(self, video_id: str, **values: Any) -> None:
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is not None:
                for name, value in values.items():
                    setattr(video, name, value)

    # -- the owner's changes ----------------------------------------------------------------

    def update(self, owner_id: str, video_id: str, changes: Mapping[str, Any]) -> None:
        """Change the title, visibility or metadata (see ``metadata.clean_changes`` for the fields
        and their bounds); the owner only (``Forbidden`` otherwise). ``tags`` replaces the list."""
        values = clean_changes(changes)
        with self.db.session() as session:
            video = _owned(session, owner_id, video_id, "change")
            was_public = _public(video)
            tags = values.pop("tags", None)
            countries = values.pop("blocked_countries", None)
            for name, value in values.items():
                setattr(video, name, value)
            if tags is not None:
                session.execute(sa.delete(VideoTag).where(VideoTag.video_id == video_id))
                session.add_all(VideoTag(video_id=video_id, tag=t, position=i) for i, t in enumerate(tags))
            if countries is not None:
                session.execute(sa.delete(VideoGeoBlock).where(VideoGeoBlock.video_id == video_id))
                session.add_all(VideoGeoBlock(video_id=video_id, country=c) for c in countries)
            if values or tags is not None or countries is not None:
                # Any edit, the tags alone included, marks the row: readers of what changed since
                # (the search index's refresh) find it by ``updated_at``.
                video.updated_at = utcnow()
            published = not was_public and _public(video)
        if published:
            self._published(video_id, owner_id)

    def moderate(self, video_id: str, changes: Mapping[str, Any]) -> None:
        """A moderator's change of the video's visibility or age restriction (``restrict``);
        checked as an owner's change is, without the owner check. ``NotFound`` if gone."""
        values = clean_changes(changes)
        if set(values) - {"visibility", "age_restricted"}:
            raise ValueError("a moderator changes only the visibility and the age restriction")
        with self.db.session() as session:
            video = session.get(Video, video_id)
            if video is None:
                raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
            for name, value in values.items():
                setattr(video, name, value)
            video.updated_at = utcnow()

    def blocked_countries(self, video_id: str) -> list[str]:
        """The countries the owner blocked the video in, sorted."""
        with self.db.session() as session:
            return list(
                session.scalars(
                    sa.select(VideoGeoBlock.country)
                    .where(VideoGeoBlock.video_id == video_id)
                    .order_by(VideoGeoBlock.country)
                )
            )

    @staticmethod
    def add_counts(session: Session, video_id: str, **deltas: int) -> None:
        """Add to the video's ``views``, ``likes`` or ``comments`` in one ``UPDATE`` (so that
        concurrent callers add up), in the caller's transaction: the domain whose rows the count
        counts calls this in the transaction that adds or removes them."""
        columns = {
            name: getattr(Video, name) + delta for name, delta in count_changes(deltas, COUNTS).items()
        }
        if columns:
            # A count is not an edit: ``updated_at`` stays (readers of what changed since, such as
            # the search refresh, would otherwise read a popular video again at every like).
            session.execute(
                sa.update(Video)
                .where(Video.id == video_id)
                .values(**columns, updated_at=Video.updated_at)
                .execution_options(synchronize_session=False)
            )

    # -- removal ----------------------------------------------------------------------------

    def remove(self, video_id: str, *, by: str, moderator: bool = False) -> None:
        """Remove the video, every row of it and every blob under its keys.

        ``by`` must own it, or be a ``moderator`` (``Forbidden`` otherwise; ``NotFound`` if gone).
        """
        leftovers = Leftovers()
        with self.db.session() as session:
            video = session.get(Video, video_id, with_for_update=True)
            if video is None:
                raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
            if video.owner_id != by and not moderator:
                raise Forbidden("Only the video's owner or a moderator can delete it.", code="NOT_OWNER")
            self._remove_rows(session, video, leftovers)
        log.info("video removed", extra={"video_id": video_id, "by": by})
        leftovers.settle(self.store, self.enqueue)

    def remove_rows_of_owner(self, session: Session, owner_id: str) -> Leftovers:
        """In the caller's transaction, remove every video of ``owner_id`` (any status) and their
        rows; the returned leftovers are the caller's to settle after its commit."""
        leftovers = Leftovers()
        videos = session.scalars(sa.select(Video).where(Video.owner_id == owner_id).with_for_update())
        for video in list(videos):
            self._remove_rows(session, video, leftovers)
        return leftovers

    def _remove_rows(self, session: Session, video: Video, leftovers: Leftovers) -> None:
        leftovers.prefixes.append(media_prefix(video.id))
        if video.source_key:
            leftovers.keys.append(video.source_key)
        for remover in self.removers:
            remover(session, video, leftovers)
        session.execute(
            sa.delete(Video).where(Video.id == video.id).execution_options(synchronize_session=False)
        )

    def retry(self, owner_id: str, video_id: str) -> Video:
        """Run a failed video's processing again, or a stuck one's; the owner only. Returns the
        video as the retry left it, before its jobs were sent (a job may change it at once).

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
            return video
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
            video = session.scalars(
                sa.select(Video).where(Video.id == video_id).execution_options(populate_existing=True)
            ).one()
        latest = self.jobs.states(subject)
        kinds = [kind for kind in RETRIED_KINDS if kind == "video.process" or latest.get(kind) == "failed"]
        self._enqueue(video_id, owner_id, kinds)
        return video


def _public(video: Video) -> bool:
    """Ready and public: what followers' feeds show."""
    return video.status == "ready" and video.visibility == "public"


def _owned(session: Session, owner_id: str, video_id: str, verb: str) -> Video:
    """The video, if ``owner_id`` owns it; ``NotFound`` or ``Forbidden`` (naming ``verb``) otherwise."""
    video = session.get(Video, video_id)
    if video is None:
        raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
    if video.owner_id != owner_id:
        raise Forbidden(f"Only the video's owner can {verb} it.", code="NOT_OWNER")
    return video
