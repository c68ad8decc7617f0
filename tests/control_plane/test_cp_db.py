"""The database's pools on PostgreSQL: connections checked only after being idle, and the pool
that keeps plans for lookups by primary key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from control_plane.core import db as db_module
from control_plane.core.db import Database


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    try:
        yield database
    finally:
        database.dispose()


def _backend_pid(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _kill(database: Database, pid: int) -> None:
    admin = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced_on_checkout(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg)
    _kill(pg, pid)
    monkeypatch.setattr(db_module, "ALIVE_BYPASS", 0.0)  # as if idle past the window
    assert _backend_pid(pg) != pid  # checked, found dead, replaced: no error reaches the caller


def test_a_connection_used_just_now_is_not_checked_and_a_dead_one_costs_one_statement(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg)
    _kill(pg, pid)
    monkeypatch.setattr(db_module, "ALIVE_BYPASS", 3600.0)
    with pytest.raises(sa.exc.OperationalError):  # taken unchecked: the statement finds it dead
        _backend_pid(pg)
    assert _backend_pid(pg) != pid  # the pool dropped it: the next checkout opens another


def test_the_keyed_pool_keeps_plans_and_the_main_pool_plans_each_statement(pg: Database) -> None:
    with pg.keyed.connect() as conn:
        assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar_one() == "force_generic_plan"
        conn.execute(sa.text("CREATE TEMP TABLE t (x int)"))  # autocommit: each statement whole
        assert conn.execute(sa.text("SELECT now() = statement_timestamp()")).scalar_one()
    with pg.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_on_sqlite_the_keyed_pool_is_the_engine(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        assert database.keyed is database.engine
    finally:
        database.dispose()
