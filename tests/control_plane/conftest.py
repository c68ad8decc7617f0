"""Fixtures of the control plane's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.platform import Platform
from support.social import backend_settings


@pytest.fixture(params=["sqlite", "postgres"])
def both(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Platform:
    """The platform on the embedded default (SQLite, in-process key-value store), then on
    PostgreSQL with Redis, the production pair; without in-process workers."""
    return platform_factory(backend_settings(request.param, tmp_path, request), inprocess_workers=False)
