"""Fixtures for the storage contract tests: every test taking ``store`` runs on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import BlobStore, LocalStore, open_store

SECRET = b"storage-test-secret"


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name of the current parametrization."""
    name: str = request.param
    return name


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    """A fresh, empty blob store: a ``LocalStore`` in tmp_path, or an ``S3Store`` on a new bucket."""
    if backend == "local":
        yield LocalStore(tmp_path / "blobs", SECRET)
    else:
        bucket_url: str = request.getfixturevalue("s3_bucket_url")
        yield open_store(bucket_url, secret=SECRET)
