"""Automated pre-screening: new posts, comments and videos' text through a classifier and the
operator's word list, by the periodic ``moderation.screen`` job.

Text goes through ``alt-profanity-check`` (a linear SVM over character n-grams whose model ships
inside the package: no download) and ``SOCIALFLOW_MODERATION_WORDS`` (whole words, case-folded).
A flagged subject gets a case in the moderators' queue (reason ``automated``) and is *held* until
a moderator decides: a video blocked (``screening_hold``), a post or comment hidden from everyone
but its author and moderators (``social.holds``). Screening never deletes; a moderator's
dismissal releases what it held.

Images and frames: no NSFW classifier ships its weights in a package this project can install,
so :class:`ImageScreen` is the interface one would implement, and none is wired (README).

The job reads what was made or changed since its last run (a watermark per source, kept in
``moderation_watermarks``), so a burst of posts costs one job, not one per post.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.events import EventHub
from control_plane.moderation.events import ContentHeld
from control_plane.moderation.models import Report, Watermark
from control_plane.moderation.service import open_case, score
from control_plane.moderation.subjects import Subject
from control_plane.social.holds import ReviewHolds
from control_plane.social.models import Comment, Post
from control_plane.videos import VideoService
from control_plane.videos.models import Video, VideoTag

__all__ = ["ImageScreen", "Screener", "TextScreen"]

log = logging.getLogger(__name__)

#: Rows read per source per run at most (the rest wait for the next run).
BATCH = 2000


class ImageScreen(Protocol):
    """An NSFW classifier of pictures (thumbnails, sampled frames): the probability, 0..1."""

    def score(self, image: Any) -> float: ...


class TextScreen:
    """The classifier's probability of offensive language and the word list's hits."""

    _model_lock = threading.Lock()

    def __init__(self, words: Iterable[str] = (), *, threshold: float = 0.9) -> None:
        cleaned = sorted({w.strip().casefold() for w in words if w.strip()})
        self.words = re.compile(r"\b(" + "|".join(map(re.escape, cleaned)) + r")\b") if cleaned else None
        self.threshold = threshold

    @staticmethod
    def probability(text: str) -> float:
        from profanity_check import predict_prob

        with TextScreen._model_lock:
            return float(predict_prob([text])[0])

    def check(self, text: str) -> dict[str, Any] | None:
        """Why ``text`` is held (the classifier's probability, the listed words found), or None."""
        if not text.strip():
            return None
        found = sorted(set(self.words.findall(text.casefold()))) if self.words else []
        probability = self.probability(text)
        if probability < self.threshold and not found:
            return None
        return {"classifier": round(probability, 4), "words": found}


class Screener:
    """Runs the text screen over what is new since the last run and flags what it catches."""

    def __init__(
        self,
        db: Database,
        videos: VideoService,
        text: TextScreen,
        holds: ReviewHolds,
        events: EventHub | None = None,
    ) -> None:
        self.db = db
        self.videos = videos
        self.text = text
        self.holds = holds
        self.events = events

    def run(self, now: datetime | None = None) -> dict[str, int]:
        """Screen new posts, comments and changed videos; returns how many of each were flagged."""
        now = now or utcnow()
        return {
            "posts": self._source("posts", now, self._posts),
            "comments": self._source("comments", now, self._comments),
            "videos": self._source("videos", now, self._videos),
        }

    def _source(self, name: str, now: datetime, read: Any) -> int:
        with self.db.session() as session:
            mark = session.get(Watermark, name)
            since = mark.at if mark is not None else now - timedelta(days=1)
        rows, last = read(since)
        flagged = 0
        for subject, text in rows:
            why = self.text.check(text)
            if why is not None and self.flag(subject, hold=True, detail=why):
                flagged += 1
        with self.db.session() as session:
            session.merge(Watermark(name=name, at=last or since))
        return flagged

    def _posts(self, since: datetime) -> tuple[list[tuple[Subject, str]], datetime | None]:
        with self.db.session() as session:
            posts = session.execute(
                sa.select(Post.id, Post.author_id, Post.text, Post.created_at)
                .where(Post.created_at > since, Post.repost_of.is_(None))
                .order_by(Post.created_at)
                .limit(BATCH)
            ).all()
        return [(Subject("post", p.id, p.author_id, 0), p.text) for p in posts], (
            posts[-1].created_at if posts else None
        )

    def _comments(self, since: datetime) -> tuple[list[tuple[Subject, str]], datetime | None]:
        with self.db.session() as session:
            comments = session.execute(
                sa.select(Comment.id, Comment.author_id, Comment.text, Comment.created_at)
                .where(Comment.created_at > since)
                .order_by(Comment.created_at)
                .limit(BATCH)
            ).all()
        return [(Subject("comment", c.id, c.author_id, 0), c.text) for c in comments], (
            comments[-1].created_at if comments else None
        )

    def _videos(self, since: datetime) -> tuple[list[tuple[Subject, str]], datetime | None]:
        with self.db.session() as session:
            videos = session.execute(
                sa.select(Video.id, Video.owner_id, Video.title, Video.description, Video.updated_at)
                .where(Video.updated_at > since, Video.status != "uploading")
                .order_by(Video.updated_at)
                .limit(BATCH)
            ).all()
            tags: dict[str, list[str]] = {}
            ids = [v.id for v in videos]
            if ids:
                for video_id, tag in session.execute(
                    sa.select(VideoTag.video_id, VideoTag.tag).where(VideoTag.video_id.in_(ids))
                ):
                    tags.setdefault(video_id, []).append(tag)
        rows = [
            (
                Subject("video", v.id, v.owner_id, 0),
                "\n".join([v.title, v.description or "", *tags.get(v.id, [])]),
            )
            for v in videos
        ]
        return rows, (videos[-1].updated_at if videos else None)

    def flag(self, subject: Subject, *, hold: bool, detail: dict[str, Any]) -> bool:
        """Open (or join) the subject's case with the screening's report, holding the subject
        (``hold``); False when its open case has the screening's report already (a video held
        changes again)."""
        with self.db.session(exclusive=True) as session:
            case = open_case(session, subject, "automated", source="screening")
            if _screened(session, case.id):
                return False
            session.add(Report(case_id=case.id, reporter_id=None, reason="automated", note=_note(detail)))
            case.held = case.held or hold
            case.detail = {**(case.detail or {}), "screening": detail}
            session.flush()
            score(session, case, subject)
            held = False
            if case.held and subject.type == "video":
                self.videos.settle(session, subject.id)
            elif case.held:
                held = self.holds.hold(session, subject.type, subject.id)
        if held and self.events is not None:
            self.events.publish(ContentHeld(subject.type, subject.id))
        return True


def _screened(session: Session, case_id: str) -> bool:
    found = session.scalar(
        sa.select(Report.id).where(Report.case_id == case_id, Report.reporter_id.is_(None))
    )
    return found is not None


def _note(detail: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in sorted(detail.items()))[:2000]
