"""Apply and inspect the Alembic migrations without an alembic.ini."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from control_plane.core.db import Base, Database

__all__ = ["upgrade", "current_revision", "head_revision", "include_object", "is_up_to_date"]

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: False for schema a domain keeps outside its models on purpose, named in
    ``Base.metadata.info["unmapped"]`` as ``table:NAME``, ``column:TABLE.NAME`` or ``index:NAME``
    patterns (the search index's FTS5 tables and ``tsvector`` column)."""
    patterns = Base.metadata.info.get("unmapped", set())
    if type_ == "column" and obj.table is not None:
        name = f"{obj.table.name}.{name}"
    return not any(fnmatch(f"{type_}:{name}", pattern) for pattern in patterns)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(db: Database) -> bool:
    return current_revision(db) == head_revision()


def upgrade(db: Database, revision: str = "head") -> str:
    """Migrate the database to ``revision`` and return the revision it is at afterwards."""
    cfg = _config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    rev = current_revision(db)
    assert rev is not None
    return rev
