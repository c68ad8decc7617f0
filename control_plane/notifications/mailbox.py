"""The notifications mailbox: where every process's intake leaves its batches of items, and from
which ``notifications.drain`` jobs take them, so that the jobs follow what the workers can do, not
how many processes produce events.

An intake writes one row per batch (``post``), then *kicks*: it enqueues a drain only if none is
waiting or running. The gate is a key-value flag set only-if-absent with a TTL of ``gate_ttl``
seconds. A drain job takes the gate over when it starts (``hold``) and keeps it while it takes
chunk after chunk, so batches written meanwhile wait for its next chunk instead of starting
drains of their own: the jobs follow what the workers can do, and a backlog makes larger chunks,
not more jobs. Finding the mailbox empty, the drain releases the gate and then looks once more: a
batch whose kick found the gate held was committed before that release, so that last look sees
it (no batch waits for a drain that has stopped looking). A drain that is lost (a queue that
refused, a job that never ran, a worker killed) leaves its rows: the gate lapses after its TTL,
and the next batch or the API processes' periodic ``kick_if_waiting`` kicks again.

Rows are taken oldest first, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so drains in several
threads and processes never take the same row; SQLite has no such clause, and its writers are one
at a time anyway (the drain's transaction is ``BEGIN IMMEDIATE``). The taker deletes the rows in
the transaction that makes their notifications (``NotificationService.drain``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.kv import KeyValue
from control_plane.notifications.models import MailboxBatch

__all__ = ["GATE", "MAX_ATTEMPTS", "Mailbox", "Taken"]

log = logging.getLogger(__name__)

#: The key-value key of the gate (followed by a digest of the database's name): set while a
#: drain job is enqueued or running.
GATE = "notifications:drain-gate"
#: Drains that may fail on one row alone before it is passed by (kept, with its error, as the record).
MAX_ATTEMPTS = 5
#: Rows asked for by each statement of a take.
ROWS_PER_FETCH = 16

#: A taken row: its id and its items.
Taken = tuple[int, list[dict[str, Any]]]


class Mailbox:
    """The mailbox on ``db``, its gate on ``kv``; ``enqueue`` is the jobs port.

    ``chunk`` is the items a drain takes per transaction (about: see ``take``); ``gate_ttl`` is
    seconds; ``linger`` is how long (seconds) a drain that found the mailbox empty keeps looking
    (every ``poll`` seconds, one index probe without locks) before it stops: under a steady flow
    the running drain takes the next batch, instead of a new job that waits for a worker to look
    at its queue (an idle Dramatiq consumer looks up to a second apart).
    """

    def __init__(
        self,
        db: Database,
        kv: KeyValue,
        enqueue: Callable[..., object],
        *,
        gate_ttl: float = 5.0,
        chunk: int = 500,
        linger: float = 0.0,
        poll: float = 0.01,
    ) -> None:
        self.db = db
        self.kv = kv
        self.enqueue = enqueue
        self.gate_ttl = gate_ttl
        self.chunk = chunk
        self.linger = linger
        self.poll = poll
        #: One gate per database (by its name, however the URL spells the server): test runs
        #: sharing a key-value store on databases of their own keep apart.
        database = db.engine.url.database or ""
        self.gate = f"{GATE}:{hashlib.sha256(database.encode()).hexdigest()[:16]}"

    # -- the producers' side ---------------------------------------------------------------------

    def post(self, items: Sequence[dict[str, Any]]) -> None:
        """Write ``items`` as one row (committed here), then kick. Raises what the database raises;
        a gate or queue that refuses is logged (the row waits for the periodic kick)."""
        with self.db.session() as session:
            session.execute(sa.insert(MailboxBatch), [{"items": list(items), "created_at": utcnow()}])
        self.kick()

    def kick(self) -> bool:
        """Enqueue a ``notifications.drain`` job unless one is waiting; True if this call did."""
        token = secrets.token_hex(8).encode()
        try:
            if not self.kv.set(self.gate, token, ttl=self.gate_ttl, only_if_absent=True):
                return False
        except Exception:
            log.warning("notifications drain not kicked: the key-value store refused", exc_info=True)
            return False
        try:
            self.enqueue("notifications.drain")
        except Exception:
            log.warning("notifications drain not kicked: the job queue refused", exc_info=True)
            try:  # no job holds the gate: the next batch may try again
                self.kv.compare_and_delete(self.gate, token)
            except Exception:
                log.debug("the drain gate stays until its TTL", exc_info=True)
            return False
        return True

    def waiting(self, passing: Collection[int] = ()) -> bool:
        """Whether any row waits for a drain, none of ``passing`` (one index probe, no lock)."""
        query = sa.select(MailboxBatch.id).where(MailboxBatch.attempts < MAX_ATTEMPTS)
        if passing:
            query = query.where(MailboxBatch.id.not_in(passing))
        with self.db.session() as session:
            return session.scalar(query.limit(1)) is not None

    def kick_if_waiting(self) -> bool:
        """The periodic safety net: kick if rows wait (none is left behind by a lost drain)."""
        return self.kick() if self.waiting() else False

    # -- the drain's side ------------------------------------------------------------------------

    def linger_for_more(self, passing: Collection[int] = ()) -> bool:
        """Wait up to ``linger`` seconds for a row (none of ``passing``); True once one waits."""
        deadline = time.monotonic() + self.linger
        while time.monotonic() < deadline:
            time.sleep(self.poll)
            if self.waiting(passing):
                return True
        return False

    def hold(self) -> bytes:
        """A drain job starting: take the gate (whoever kicked it), so that batches written while
        it runs do not kick other drains; returns its token (``keep`` it, ``release`` it)."""
        token = secrets.token_hex(8).encode()
        self.kv.set(self.gate, token, ttl=self.gate_ttl)
        return token

    def keep(self, token: bytes) -> None:
        """A drain going on: the gate lasts another ``gate_ttl`` (if it still holds it)."""
        self.kv.compare_and_expire(self.gate, token, self.gate_ttl)

    def release(self, token: bytes) -> None:
        """A drain finding the mailbox empty: a batch written from now on kicks a drain. The
        caller then takes once more: a batch whose kick found the gate held is there by now."""
        self.kv.compare_and_delete(self.gate, token)

    def take(
        self, session: Session, ids: Sequence[int] | None = None, *, passing: Collection[int] = ()
    ) -> list[Taken]:
        """Lock and return the oldest rows no other drain holds, about ``chunk`` items (or the rows
        ``ids``, those still there and free), none of ``passing``. The caller deletes them
        (``remove``) in the same transaction, or its rollback leaves them for the next drain.

        Rows are asked for ``ROWS_PER_FETCH`` at a time, then as many as the items still wanted
        need at the average size so far, so a chunk passes ``chunk`` by less than a row or two."""
        query = sa.select(MailboxBatch.id, MailboxBatch.items).where(MailboxBatch.attempts < MAX_ATTEMPTS)
        if passing:
            query = query.where(MailboxBatch.id.not_in(passing))
        if ids is not None:
            return [
                (int(i), list(items))
                for i, items in session.execute(
                    query.where(MailboxBatch.id.in_(ids))
                    .order_by(MailboxBatch.id)
                    .with_for_update(skip_locked=True)
                )
            ]
        taken: list[Taken] = []
        count, last, limit = 0, 0, ROWS_PER_FETCH
        while True:
            rows = session.execute(
                query.where(MailboxBatch.id > last)
                .order_by(MailboxBatch.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row_id, items in rows:
                taken.append((int(row_id), list(items)))
                count += len(items)
            if len(rows) < limit or count >= self.chunk:
                return taken
            last = taken[-1][0]
            limit = min(ROWS_PER_FETCH, -(-(self.chunk - count) * len(taken) // max(count, 1)))

    @staticmethod
    def remove(session: Session, ids: Sequence[int]) -> None:
        """Delete the rows taken (in the transaction that made their notifications)."""
        session.execute(
            sa.delete(MailboxBatch)
            .where(MailboxBatch.id.in_(ids))
            .execution_options(synchronize_session=False)
        )

    def failed(self, row_id: int, error: BaseException) -> int:
        """Count a drain that failed on the row alone (its own transaction); returns its attempts."""
        with self.db.session() as session:
            row = session.get(MailboxBatch, row_id, with_for_update=True)
            if row is None:
                return 0
            row.attempts += 1
            row.error = f"{type(error).__name__}: {error}"[:255]
            return row.attempts
