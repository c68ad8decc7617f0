"""One platform per backend: the embedded default, then PostgreSQL, Redis and S3.

``platform_on`` is a factory, so a test can pass setting overrides; the production form keeps
the in-memory broker with in-process workers (a shared broker would hand jobs to other test
runs) and uses Redis database 12 of the test server, emptied first, for counters, locks and
rate limits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from support.platform import Platform, embedded, production

#: The Redis database these platforms use: theirs alone, so no other run's counters leak in.
#: Runs side by side on one Redis (several checkouts of one machine) each name their own.
REDIS_DB = int(os.environ.get("SOCIALFLOW_TEST_REDIS_DB", "12"))


@pytest.fixture(params=["sqlite", "postgres"])
def platform_on(
    request: pytest.FixtureRequest, tmp_path: Path, platform_factory: Callable[..., Platform]
) -> Callable[..., Platform]:
    """``platform_on(**settings)``: the platform on this parameter's backend."""

    def make(**overrides: object) -> Platform:
        if request.param == "sqlite":
            return platform_factory(embedded(tmp_path, **overrides))
        server = request.getfixturevalue("redis_url")
        own = f"{server.rsplit('/', 1)[0]}/{REDIS_DB}"
        client = redis.Redis.from_url(own)
        try:
            client.flushdb()
        finally:
            client.close()
        settings = production(
            tmp_path,
            database_url=request.getfixturevalue("postgres_url"),
            broker_url="",
            storage_url=request.getfixturevalue("s3_bucket_url"),
            redis_url=own,
            **overrides,
        )
        return platform_factory(settings)

    return make
