"""Database engine and sessions (SQLAlchemy 2) for SQLite and PostgreSQL (psycopg 3), the declarative
base of every domain's tables, and the column helpers they share: ids and UTC timestamps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
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


def _postgres_settings(dbapi_conn: Any, _record: Any) -> None:
    """Plan every statement for its own values. psycopg prepares a statement it has run five times,
    and PostgreSQL then may switch to a *generic* plan, made for an average value: on the social
    graph's power-law data that plan sorts all 5,400 comments of the busiest video (55 ms) where
    one made for that video reads 21 rows of its index (0.05 ms). Replanning costs a fraction of
    a millisecond, what an unprepared statement pays anyway."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute("SET plan_cache_mode = force_custom_plan")
    finally:
        dbapi_conn.autocommit = autocommit


class Database:
    """Owns the engine and the session factory of one process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs.update(
                pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"connect_timeout": 5}
            )
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "connect", _postgres_settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

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
