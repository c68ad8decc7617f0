"""Denormalised counters changed atomically in the caller's transaction.

Every change is one statement, ``x = x + delta`` (an upsert where the row may not exist yet), so
concurrent writers never lose an update: the database serialises them on the row, with no
read-modify-write in Python. The caller changes a counter only when its own statement inserted or
deleted the row being counted, which keeps counters equal to their rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.upsert import dialect_insert

__all__ = ["CountWriter", "add", "insert_new", "upsert"]

#: Adds to named counts of one row in the caller's transaction: ``(session, row_id, **deltas)``.
#: The social domain changes an account's ``followers``, ``following`` and ``posts`` and a video's
#: ``likes`` and ``comments`` through one of these, handed in at wiring: the domain that shows a
#: count keeps it on its own row (``ChannelService.add_counts``, ``VideoService.add_counts``), so
#: a profile or a video is read with its counts and the social domain keeps no copy.
CountWriter = Callable[..., None]


def upsert(session: Session, model: Any) -> Any:
    """The dialect's ``INSERT`` into ``model``'s table that knows ``ON CONFLICT`` (PostgreSQL, SQLite)."""
    return dialect_insert(session, model)


def insert_new(session: Session, model: Any, **row: Any) -> bool:
    """Insert the row unless one with its key exists; True only if this statement inserted it
    (``RETURNING`` says so on both backends, where a rowcount may not)."""
    key = model.__table__.primary_key.columns.values()[0]
    stmt = upsert(session, model).values(**row).on_conflict_do_nothing().returning(key)
    return session.execute(stmt).first() is not None


def add(session: Session, model: Any, where: sa.ColumnElement[bool], **deltas: int) -> None:
    """Add ``deltas`` to the counters of the existing rows of ``model`` that match ``where``."""
    deltas = {name: delta for name, delta in deltas.items() if delta}
    if deltas:
        columns = model.__table__.c
        session.execute(
            sa.update(model)
            .where(where)
            .values({name: columns[name] + delta for name, delta in deltas.items()})
            .execution_options(synchronize_session=False)
        )
