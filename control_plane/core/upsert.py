"""Insert-or-update of many rows at once, on PostgreSQL and SQLite alike (``ON CONFLICT`` on the
primary key), for the tables that batches add into: counters ``add``, state ``replace``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["upsert"]

CHUNK = 2000


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
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - the platform runs on these two
        raise NotImplementedError(f"upsert on {dialect}")
    stmt = insert(table)
    changes: dict[str, Any] = {name: table.c[name] + stmt.excluded[name] for name in add}
    changes.update({name: stmt.excluded[name] for name in replace})
    keys = [c.name for c in table.primary_key.columns]
    if changes:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    for start in range(0, len(rows), CHUNK):
        session.execute(stmt, list(rows[start : start + CHUNK]))
