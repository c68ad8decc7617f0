"""Database engine and sessions (SQLAlchemy 2) for SQLite and PostgreSQL (psycopg 3), the declarative
base of every domain's tables, and the column helpers they share: ids and UTC timestamps."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "Database", "normalize_url", "new_id", "utcnow", "UTCDateTime"]


class Base(DeclarativeBase):
    """Declarative base of every table; Alembic migrations are the source of the schema."""


def normalize_url(url: str) -> str:
    """Point a bare ``postgresql://`` URL at the psycopg 3 driver we ship."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _plan_setting(mode: str) -> Callable[[Any, Any], None]:
    """A connect hook that sets ``plan_cache_mode`` on each new connection."""

    def hook(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            dbapi_conn.execute(f"SET plan_cache_mode = {mode}")
        finally:
            dbapi_conn.autocommit = autocommit

    return hook


#: A connection used within this many seconds is taken from the pool without asking the server
#: first (HikariCP's "alive bypass window" does the same): the check is a round trip, which on a
#: busy machine costs as much as the statement it guards. A connection idle longer is checked.
ALIVE_BYPASS = 1.0


def _checked_in(_dbapi_conn: Any, record: Any) -> None:
    record.info["used_at"] = time.monotonic()


def _checkout_ping(engine: sa.Engine) -> Callable[[Any, Any, Any], None]:
    """A checkout hook: ping a connection idle for ``ALIVE_BYPASS`` seconds or more; a dead one
    makes the pool drop it and take (or open) another."""

    def hook(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("used_at")
        if used is not None and time.monotonic() - used < ALIVE_BYPASS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"connection found dead on checkout: {exc}") from exc

    return hook


def _postgres_engine(url: str, echo: bool, *, plans: str, **options: Any) -> sa.Engine:
    engine = sa.create_engine(
        url,
        echo=echo,
        future=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 5},
        **options,
    )
    event.listen(engine, "connect", _plan_setting(plans))
    event.listen(engine, "connect", _checked_in)  # just opened: alive
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _checkout_ping(engine))
    return engine


class Database:
    """Owns the engine and the session factory of one process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self._echo = echo
        if self.url.startswith("sqlite"):
            self.engine = sa.create_engine(
                self.url, echo=echo, future=True, connect_args={"check_same_thread": False, "timeout": 10}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            # Plan every statement for its own values. psycopg prepares a statement it has run five
            # times, and PostgreSQL then may switch to a *generic* plan, made for an average value:
            # on the social graph's power-law data that plan sorts all 5,400 comments of the
            # busiest video (55 ms) where one made for that video reads 21 rows of its index
            # (0.05 ms). Replanning costs a fraction of a millisecond, what an unprepared statement
            # pays anyway.
            self.engine = _postgres_engine(self.url, echo, plans="force_custom_plan")
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._keyed: sa.Engine | None = None
        self._keyed_lock = threading.Lock()

    @property
    def keyed(self) -> sa.Engine:
        """On PostgreSQL, a second pool for read-only statements that look rows up by primary key
        (a feed page's), whose connections let PostgreSQL keep one plan per statement
        (``plan_cache_mode = force_generic_plan``) once psycopg has prepared it, and commit each
        statement by itself. Planning such a statement costs more than running it (the feed page's:
        1.8 ms planned every time against 0.4 ms from the kept plan, on the feed benchmark's data),
        and no value of theirs can make the kept plan a bad one; statements whose best plan
        depends on their values stay on ``engine``. Elsewhere, ``engine`` itself."""
        if self.engine.dialect.name != "postgresql":
            return self.engine
        with self._keyed_lock:
            if self._keyed is None:
                self._keyed = _postgres_engine(
                    self.url, self._echo, plans="force_generic_plan", isolation_level="AUTOCOMMIT"
                )
            return self._keyed

    @contextmanager
    def session(self, *, exclusive: bool = False) -> Iterator[Session]:
        """A session that commits on success and rolls back on error.

        ``exclusive`` is for a read-modify-write that must not interleave with another: rows read
        ``with_for_update`` are locked on PostgreSQL, but SQLite ignores that clause, so there the
        session's transaction takes the database's write lock before its first read
        (``BEGIN IMMEDIATE``; other writers wait up to the busy timeout).
        """
        with self.sessions() as session:
            try:
                if exclusive and self.engine.dialect.name == "sqlite":
                    session.execute(sa.text("BEGIN IMMEDIATE"))
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self._keyed is not None:
            self._keyed.dispose()


def new_id() -> str:
    """A random 32-hex-digit id, used in URLs and storage keys."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
