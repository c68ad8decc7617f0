"""The views domain's service: heartbeats in, views and watch time out, in batches.

PeerTube's rules are the anchor: a view counts once a session has watched 10 s (or the whole
video when it is shorter), once per viewer per hour (``SOCIALFLOW_VIEWS_WINDOW``); watch time
accumulates from heartbeats (players send one every 5 s) and is capped at wall time. Bots are
left out three ways: a view needs two heartbeats at least 10 s apart (no heartbeats, no view),
heartbeats faster than ``min_gap`` are ignored and a viewer address sending more than
``SOCIALFLOW_VIEWS_HEARTBEATS_PER_MINUTE`` is refused (impossible rates), and crawlers' and
scripts' User-Agents are not counted at all.

Heartbeats go to the buffer (``buffer.py``: Redis, or in process); :meth:`ViewService.flush`
writes what is buffered to the database in one transaction (the views onto the video rows through
``VideoService.add_counts``, the watch seconds per (video, day, country, device), the sessions),
and the rollup job turns finished sessions into the retention histogram and deletes
raw sessions older than ``SOCIALFLOW_VIEWS_RAW_RETENTION_DAYS`` (``rollup.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, new_id
from control_plane.core.errors import NotFound, RateLimited
from control_plane.core.kv import KeyValue
from control_plane.core.leftovers import Leftovers
from control_plane.core.upsert import upsert
from control_plane.moderation.access import Audience, check_watch
from control_plane.social.audience import LISTED
from control_plane.videos.models import Video, VideoGeoBlock
from control_plane.views.buffer import Beat, BeatResult, ViewBuffer
from control_plane.views.models import ViewFlush, ViewSession, WatchDaily, WatchRetention

__all__ = ["CountAdder", "VideoFacts", "ViewService"]

log = logging.getLogger(__name__)

#: ``VideoService.add_counts``: the one writer of a video row's counts.
CountAdder = Callable[..., None]
#: Seconds a video's facts (owner, status, duration, restrictions) are kept between heartbeats.
FACTS_TTL = 10.0
_MISSING = object()


class _Batcher:
    """Joins the beats submitted on one event loop while a call is in flight into the next call
    of ``run`` (``ViewBuffer.beat_many``), which runs in a worker thread: one thread hop and one
    Redis round trip for a whole batch of requests instead of one each."""

    def __init__(self, run: Callable[[list[Beat]], list[BeatResult]]) -> None:
        self.run = run
        self.pending: list[tuple[Beat, asyncio.Future[BeatResult]]] = []
        self.busy = False
        self._task: asyncio.Task[None] | None = None

    async def submit(self, beat: Beat) -> BeatResult:
        future: asyncio.Future[BeatResult] = asyncio.get_running_loop().create_future()
        self.pending.append((beat, future))
        if not self.busy:
            self.busy = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:500], self.pending[500:]
                try:
                    results = await anyio.to_thread.run_sync(self.run, [beat for beat, _ in batch])
                except Exception as error:  # each request answers with the buffer's failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.busy = False


@dataclass(frozen=True)
class VideoFacts:
    """What a heartbeat needs to know of its video."""

    owner_id: str
    status: str
    visibility: str
    duration: float | None
    age_restricted: bool
    blocked_countries: frozenset[str]


class ViewService:
    """``buffer`` holds heartbeats until a flush; ``add_counts`` adds to a video row's counts in
    the caller's transaction; ``count_after`` is the watch seconds a view needs;
    ``platform_blocked`` the countries no video is shown in."""

    def __init__(
        self,
        db: Database,
        buffer: ViewBuffer,
        kv: KeyValue,
        add_counts: CountAdder,
        *,
        count_after: float = 10.0,
        platform_blocked: Collection[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.buffer = buffer
        self.kv = kv
        self.add_counts = add_counts
        self.count_after = count_after
        self.platform_blocked = frozenset(platform_blocked)
        self.clock = clock
        self._facts: dict[str, tuple[float, VideoFacts | None]] = {}
        self._facts_lock = threading.Lock()
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = (
            weakref.WeakKeyDictionary()
        )

    # -- heartbeats -------------------------------------------------------------------------

    def _cached_facts(self, video_id: str) -> VideoFacts | None | object:
        """The cached facts, or ``_MISSING``."""
        cached = self._facts.get(video_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return _MISSING

    def facts(self, video_id: str) -> VideoFacts | None:
        """The video's facts, cached for ``FACTS_TTL`` seconds (None: no such video)."""
        now = time.monotonic()
        with self._facts_lock:
            cached = self._facts.get(video_id)
            if cached is not None and cached[0] > now:
                return cached[1]
        with self.db.session() as session:
            video = session.get(Video, video_id)
            facts = None
            if video is not None:
                blocked = session.scalars(
                    sa.select(VideoGeoBlock.country).where(VideoGeoBlock.video_id == video_id)
                )
                facts = VideoFacts(
                    video.owner_id,
                    video.status,
                    video.visibility,
                    video.duration,
                    video.age_restricted,
                    frozenset(blocked),
                )
        with self._facts_lock:
            if len(self._facts) > 50_000:
                self._facts.clear()
            self._facts[video_id] = (now + FACTS_TTL, facts)
        return facts

    def _beat(
        self,
        facts: VideoFacts | None,
        video_id: str,
        audience: Audience,
        *,
        viewer: str,
        device: str,
        session: str,
        position: float,
        watched: float,
    ) -> Beat | None:
        """The heartbeat to buffer, after the access checks (raises as :meth:`heartbeat` does);
        None for a bot's."""
        owns = audience.moderator or (
            audience.user_id is not None and facts is not None and facts.owner_id == audience.user_id
        )
        if facts is None or not owns and (facts.status != "ready" or facts.visibility not in LISTED):
            raise NotFound("No such video.", code="VIDEO_NOT_FOUND")
        check_watch(
            audience,
            owner_id=facts.owner_id,
            age_restricted=facts.age_restricted,
            blocked_countries=facts.blocked_countries,
            platform_blocked=self.platform_blocked,
        )
        if device == "bot":
            return None
        now = self.clock()
        threshold = self.count_after
        if facts.duration:
            threshold = min(threshold, max(facts.duration - 0.5, 0.5))
            position = min(position, facts.duration)
        key = hashlib.sha256(f"{video_id}|{viewer}|{session}".encode()).hexdigest()[:32]
        return Beat(
            session=key,
            video_id=video_id,
            owner_id=facts.owner_id,
            user_id=audience.user_id,
            viewer=viewer,
            country=audience.country,
            device=device,
            now=now,
            day=datetime.fromtimestamp(now, UTC).date().isoformat(),
            position=position,
            watched=watched,
            threshold=threshold,
        )

    @staticmethod
    def _answer(result: BeatResult) -> BeatResult:
        if result.retry:
            raise RateLimited(
                f"Too many heartbeats from this viewer; try again in {result.retry} s.",
                headers={"Retry-After": str(result.retry)},
            )
        return result

    def heartbeat(
        self,
        video_id: str,
        audience: Audience,
        *,
        viewer: str,
        device: str,
        session: str,
        position: float,
        watched: float,
    ) -> BeatResult:
        """Record one heartbeat of the player session ``session`` of ``viewer`` (a user id or a
        hash of the address). ``NotFound`` for a video the audience may not see, ``GeoBlocked``
        or ``AgeRestricted`` for one they may not watch, ``RateLimited`` past the buffer's
        ``per_minute``; a ``bot`` device is answered but not recorded."""
        beat = self._beat(
            self.facts(video_id),
            video_id,
            audience,
            viewer=viewer,
            device=device,
            session=session,
            position=position,
            watched=watched,
        )
        if beat is None:
            return BeatResult(False, 0.0, 0.0, False)
        return self._answer(self.buffer.beat(beat))

    async def heartbeat_async(
        self,
        video_id: str,
        audience: Audience,
        *,
        viewer: str,
        device: str,
        session: str,
        position: float,
        watched: float,
    ) -> BeatResult:
        """:meth:`heartbeat` for an event loop: the video's facts from the cache (the database
        in a worker thread on a miss), and the beat joined to the others in flight, so many
        requests' beats go to the buffer in one call (one Redis round trip) off the loop."""
        facts = self._cached_facts(video_id)
        if facts is _MISSING:
            facts = await anyio.to_thread.run_sync(self.facts, video_id)
        beat = self._beat(
            facts,  # type: ignore[arg-type]
            video_id,
            audience,
            viewer=viewer,
            device=device,
            session=session,
            position=position,
            watched=watched,
        )
        if beat is None:
            return BeatResult(False, 0.0, 0.0, False)
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = _Batcher(self.buffer.beat_many)
        return self._answer(await batcher.submit(beat))

    # -- flushing ---------------------------------------------------------------------------

    def flush(self) -> int:
        """Write what the buffer holds to the database; returns how many views it added.

        Batches left by a flush that stopped half-way go first (applied unless their token is in
        the database already). One process flushes at a time (a key-value lock)."""
        lock = self.kv.acquire_lock("views.flush", 120.0)
        if lock is None:
            return 0
        try:
            added = 0
            for token in self.buffer.batches():
                added += self._apply(token)
            token = new_id()
            if self.buffer.take(token):
                added += self._apply(token)
            return added
        finally:
            self.kv.release_lock("views.flush", lock)

    def _apply(self, token: str) -> int:
        batch = self.buffer.load(token)
        ids = (
            {k[0] for k in batch.views}
            | {k[0] for k in batch.watch}
            | {s["video_id"] for s in batch.sessions}
        )
        with self.db.session() as session:
            if session.get(ViewFlush, token) is None:
                owners = _owners(session, ids)
                totals: dict[str, int] = defaultdict(int)
                for (video_id, *_), n in batch.views.items():
                    totals[video_id] += n
                for video_id, n in totals.items():
                    if video_id in owners:
                        self.add_counts(session, video_id, views=n)
                rows = [
                    {
                        "video_id": video_id,
                        "day": date.fromisoformat(day),
                        "country": country,
                        "device": device,
                        "owner_id": owners[video_id],
                        "views": batch.views.get((video_id, day, country, device), 0),
                        "watch_seconds": batch.watch.get((video_id, day, country, device), 0.0),
                    }
                    for (video_id, day, country, device) in set(batch.views) | set(batch.watch)
                    if video_id in owners
                ]
                upsert(session, WatchDaily, rows, add=("views", "watch_seconds"))
                sessions = [_session_row(s) for s in batch.sessions if s["video_id"] in owners]
                upsert(
                    session,
                    ViewSession,
                    sessions,
                    replace=("last_at", "watched", "max_position", "heartbeats", "counted"),
                )
                session.add(ViewFlush(token=token))
                added = sum(n for video_id, n in totals.items() if video_id in owners)
            else:
                added = 0
        self.buffer.done(token)
        return added

    # -- removal ----------------------------------------------------------------------------

    @staticmethod
    def video_removed(session: Session, video: Video, leftovers: Leftovers) -> None:
        """A removed video's sessions and retention go with it; its daily watch time stays, with
        its owner's id, for the payouts and the channel's totals it is part of."""
        for model in (ViewSession, WatchRetention):
            session.execute(
                sa.delete(model)
                .where(model.video_id == video.id)
                .execution_options(synchronize_session=False)
            )

    @staticmethod
    def remove_rows_of_owner(session: Session, owner_id: str) -> Leftovers:
        """A closed account's viewing history and its channel's watch time go."""
        session.execute(
            sa.delete(ViewSession)
            .where(sa.or_(ViewSession.user_id == owner_id, ViewSession.owner_id == owner_id))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            sa.delete(WatchDaily)
            .where(WatchDaily.owner_id == owner_id)
            .execution_options(synchronize_session=False)
        )
        return Leftovers()


def _owners(session: Session, ids: Collection[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    ids = list(ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        owners.update(session.execute(sa.select(Video.id, Video.owner_id).where(Video.id.in_(chunk))).all())
    return owners


def _session_row(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **state,
        "started_at": datetime.fromtimestamp(state["started_at"], UTC),
        "last_at": datetime.fromtimestamp(state["last_at"], UTC),
        "rolled": False,
        "max_position": min(state["max_position"], 10.0**7) if math.isfinite(state["max_position"]) else 0.0,
    }
