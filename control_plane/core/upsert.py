"""Insert-or-update of many rows at once, on PostgreSQL and SQLite alike (``ON CONFLICT`` on the
primary key), for the tables that batches add into: counters ``add``, state ``replace``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from control_plane.core.settings import ConfigError

__all__ = ["dialect_insert", "upsert"]

CHUNK = 2000


def dialect_insert(session: Session, model: type[Any]) -> Any:
    """The ``INSERT`` into ``model``'s table that knows ``ON CONFLICT``, for the session's
    database (PostgreSQL or SQLite, the two the platform runs on)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model.__table__)
    if dialect == "sqlite":
        return sqlite.insert(model.__table__)
    raise ConfigError(f"Social Flow runs on PostgreSQL or SQLite, not {dialect}.")


def upsert(
    session: Session,
    model: type[Any],
    rows: Sequence[dict[str, Any]],
    *,
    add: Iterable[str] = (),
    replace: Iterable[str] = (),
) -> None:
    """Insert ``rows`` into ``model``'s table; where a row's primary key exists, add the new
    value to each column of ``add`` and overwrite each column of ``replace`` (others are kept)."""
    if not rows:
        return
    table = model.__table__
    stmt = dialect_insert(session, model)
    changes: dict[str, Any] = {name: table.c[name] + stmt.excluded[name] for name in add}
    changes.update({name: stmt.excluded[name] for name in replace})
    keys = [c.name for c in table.primary_key.columns]
    if changes:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    for start in range(0, len(rows), CHUNK):
        session.execute(stmt, list(rows[start : start + CHUNK]))
