"""Fixtures of the control plane's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.platform import Platform
from support.social import backend_settings

from control_plane.core.db import Database


@pytest.fixture(params=["sqlite", "postgres"])
def both(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Platform:
    """The platform on the embedded default (SQLite, in-process key-value store), then on
    PostgreSQL with Redis, the production pair; without in-process workers."""
    return platform_factory(backend_settings(request.param, tmp_path, request), inprocess_workers=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database, unmigrated: SQLite in a file, then a fresh PostgreSQL database."""
    url = (
        f"sqlite:///{tmp_path / 'db.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()
