"""The stream service: creating streams, their keys, and the state changes the ingest reports.

Every method is synchronous (database calls); the RTMP side calls them through
``asyncio.to_thread``. Ownership: ``owned`` raises ``LiveStreamNotFound`` both for a missing
stream and for someone else's, so ids cannot be probed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from control_plane.core.db import Database, utcnow
from control_plane.core.errors import Conflict
from control_plane.core.events import EventHub
from control_plane.core.leftovers import Leftovers
from control_plane.http.pagination import Order, PageParams, keyset_page
from control_plane.live.errors import LiveStreamNotFound
from control_plane.live.events import StreamWentLive
from control_plane.live.files import stream_prefix
from control_plane.live.keys import key_hash, key_matches, key_prefix, new_stream_key, well_formed
from control_plane.live.models import LIVE_EVENTS, LiveEvent, LiveStream

__all__ = ["StreamService", "StreamView", "EventView", "LOST"]

log = logging.getLogger(__name__)

#: The event of a live stream ended by the sweep: the ingest holding it stopped answering.
LOST = "lost"
#: An owner's streams, newest first; the streams live now, the latest to start first.
BY_CREATION = Order("created", (LiveStream.created_at, LiveStream.id))
BY_START = Order("started", (LiveStream.started_at, LiveStream.id))


@dataclass(frozen=True)
class EventView:
    state: str
    at: datetime


@dataclass(frozen=True)
class StreamView:
    """A detached snapshot of a stream and the events it went through, oldest first."""

    id: str
    owner_id: str
    title: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    recording_video_id: str | None
    events: tuple[EventView, ...]
    #: The most viewers at once, as kept when the stream last ended (0 before).
    peak_viewers: int = 0


class StreamService:
    """Streams in the database. ``max_events`` bounds the events returned by ``view``; ``events``
    hears of each stream going live (``StreamWentLive``) once committed; ``peaks`` gives a
    stream's peak of concurrent viewers (``ViewerCounter.peak``), kept in ``peak_viewers`` when
    the stream ends (None: not kept)."""

    def __init__(
        self,
        db: Database,
        *,
        max_events: int = 200,
        events: EventHub | None = None,
        peaks: Callable[[str], int] | None = None,
    ) -> None:
        self.db = db
        self.max_events = max_events
        self.events = events
        self.peaks = peaks

    def _keep_peak(self, row: LiveStream) -> None:
        if self.peaks is not None:
            row.peak_viewers = max(row.peak_viewers or 0, self.peaks(row.id))

    def create(self, owner_id: str, title: str) -> tuple[StreamView, str]:
        """A new idle stream and its key; the key is returned here once and never stored."""
        key = new_stream_key()
        with self.db.session() as session:
            row = LiveStream(
                owner_id=owner_id,
                title=title,
                key_prefix=key_prefix(key),
                key_hash=key_hash(key),
                status="idle",
            )
            session.add(row)
            session.flush()
            stream_id = row.id
        log.info("live stream created", extra={"stream_id": stream_id, "owner_id": owner_id})
        return self.view(stream_id), key

    def owned(self, owner_id: str, stream_id: str) -> StreamView:
        """The stream if ``owner_id`` owns it; raises ``LiveStreamNotFound`` otherwise."""
        found = self.view(stream_id)
        if found.owner_id != owner_id:
            raise LiveStreamNotFound("No such live stream.")
        return found

    def exists(self, stream_id: str) -> bool:
        with self.db.session() as session:
            return session.get(LiveStream, stream_id) is not None

    def status(self, stream_id: str) -> str | None:
        """``idle``, ``live`` or ``ended``; None when there is no such stream."""
        with self.db.session() as session:
            row = session.get(LiveStream, stream_id)
            return row.status if row is not None else None

    def rotate_key(self, owner_id: str, stream_id: str) -> str:
        """Replace the key of an owned stream; the old one stops working for new publishes."""
        key = new_stream_key()
        with self.db.session(exclusive=True) as session:
            row = session.get(LiveStream, stream_id, with_for_update=True)
            if row is None or row.owner_id != owner_id:
                raise LiveStreamNotFound("No such live stream.")
            row.key_prefix, row.key_hash = key_prefix(key), key_hash(key)
        log.info("live stream key rotated", extra={"stream_id": stream_id})
        return key

    def find_by_key(self, key: str) -> str | None:
        """The id of the stream whose key is ``key``, or None."""
        if not well_formed(key):
            return None
        with self.db.session() as session:
            rows = session.execute(
                sa.select(LiveStream.id, LiveStream.key_hash).where(LiveStream.key_prefix == key_prefix(key))
            ).all()
        return next((stream_id for stream_id, stored in rows if key_matches(key, stored)), None)

    def record_state(self, stream_id: str, state: str) -> None:
        """Log an ingest state change and move the stream's status; unknown ids are ignored.

        ``live`` makes the stream live (``started_at`` set at the first media of a session);
        ``idle`` ends it. ``connected`` and ``disconnected`` are only logged.
        """
        if state not in LIVE_EVENTS:
            raise ValueError(f"unknown live state {state!r}")
        now = utcnow()
        started = None
        with self.db.session(exclusive=True) as session:
            row = session.get(LiveStream, stream_id, with_for_update=True)
            if row is None:
                log.warning("state %s for unknown live stream %s", state, stream_id)
                return
            session.add(LiveEvent(stream_id=stream_id, state=state, at=now))
            if state == "live" and row.status != "live":
                row.status, row.started_at, row.ended_at = "live", now, None
                started = StreamWentLive(stream_id, row.owner_id, row.title)
            elif state == "idle" and row.status == "live":
                row.status, row.ended_at = "ended", now
                self._keep_peak(row)
        if started is not None and self.events is not None:
            self.events.publish(started)

    def end_unheld(self, held: Callable[[str], bool], *, grace_s: float) -> list[str]:
        """End the live streams that no ingest holds (``held(stream_id)`` is False) and that went
        live more than ``grace_s`` seconds ago: status ``ended``, event ``lost``. Returns their ids."""
        cutoff = utcnow() - timedelta(seconds=grace_s)
        with self.db.session() as session:
            candidates = session.scalars(
                sa.select(LiveStream.id).where(LiveStream.status == "live", LiveStream.started_at < cutoff)
            ).all()
        ended = []
        for stream_id in candidates:
            if held(stream_id):
                continue
            now = utcnow()
            with self.db.session(exclusive=True) as session:
                row = session.get(LiveStream, stream_id, with_for_update=True)
                if row is None or row.status != "live" or row.started_at is None or row.started_at >= cutoff:
                    continue
                session.add(LiveEvent(stream_id=stream_id, state=LOST, at=now))
                row.status, row.ended_at = "ended", now
                self._keep_peak(row)
            ended.append(stream_id)
            log.warning("live stream %s lost its ingest; ended", stream_id, extra={"stream_id": stream_id})
        return ended

    def revive(self, stream_id: str) -> bool:
        """Undo a sweep that ended a stream whose ingest was alive after all (its lease had lapsed
        in a key-value outage): ``live`` again, with its first ``started_at``, when its last event
        is ``lost``. True if it was revived."""
        with self.db.session(exclusive=True) as session:
            row = session.get(LiveStream, stream_id, with_for_update=True)
            last = session.scalar(
                sa.select(LiveEvent.state)
                .where(LiveEvent.stream_id == stream_id)
                .order_by(LiveEvent.id.desc())
                .limit(1)
            )
            if row is None or row.status != "ended" or last != LOST:
                return False
            session.add(LiveEvent(stream_id=stream_id, state="live", at=utcnow()))
            row.status, row.ended_at = "live", None
        log.warning("live stream %s revived: its ingest is alive", stream_id, extra={"stream_id": stream_id})
        return True

    def list_owned(self, owner_id: str, page: PageParams) -> tuple[list[StreamView], str | None]:
        """One page of the owner's streams (any status), newest first; views without events."""
        query = sa.select(LiveStream, *BY_CREATION.columns).where(LiveStream.owner_id == owner_id)
        return self._page(query, BY_CREATION, page)

    def list_live(self, page: PageParams) -> tuple[list[StreamView], str | None]:
        """One page of the streams live now, the latest to go live first; views without events."""
        query = sa.select(LiveStream, *BY_START.columns).where(
            LiveStream.status == "live", LiveStream.started_at.is_not(None)
        )
        return self._page(query, BY_START, page)

    def started_between(self, owner_id: str, since: datetime, until: datetime) -> list[StreamView]:
        """The owner's streams that went live in [``since``, ``until``), oldest first (at most
        1,000; views without events): creator analytics' live part."""
        with self.db.session() as session:
            rows = session.scalars(
                sa.select(LiveStream)
                .where(
                    LiveStream.owner_id == owner_id,
                    LiveStream.started_at >= since,
                    LiveStream.started_at < until,
                )
                .order_by(LiveStream.started_at, LiveStream.id)
                .limit(1000)
            )
            return [_view(row, ()) for row in rows]

    def _page(self, query: sa.Select, order: Order, page: PageParams) -> tuple[list[StreamView], str | None]:
        with self.db.session() as session:
            rows, cursor = keyset_page(session, query, order, page)
            return [_view(row[0], ()) for row in rows], cursor

    def remove_rows_of_owner(self, session: sa.orm.Session, owner_id: str) -> Leftovers:
        """In the caller's transaction (closing an account), remove the owner's streams; their
        playback files and recordings go after the commit. A stream live now refuses
        (``Conflict``): its ingest would keep writing files."""
        rows = list(session.scalars(sa.select(LiveStream).where(LiveStream.owner_id == owner_id)))
        if any(row.status == "live" for row in rows):
            raise Conflict("End your live stream first.", code="STREAM_LIVE")
        session.execute(sa.delete(LiveStream).where(LiveStream.owner_id == owner_id))
        return Leftovers(prefixes=[stream_prefix(row.id) for row in rows])

    def view(self, stream_id: str) -> StreamView:
        with self.db.session() as session:
            row = session.get(LiveStream, stream_id)
            if row is None:
                raise LiveStreamNotFound("No such live stream.")
            events = session.scalars(
                sa.select(LiveEvent)
                .where(LiveEvent.stream_id == stream_id)
                .order_by(LiveEvent.id.desc())
                .limit(self.max_events)
            ).all()
            return _view(row, tuple(EventView(e.state, e.at) for e in reversed(events)))


def _view(row: LiveStream, events: tuple[EventView, ...]) -> StreamView:
    return StreamView(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        recording_video_id=row.recording_video_id,
        events=events,
        peak_viewers=row.peak_viewers or 0,
    )
