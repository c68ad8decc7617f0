"""One process at a time: test processes running side by side (``pytest -n``) share the caches
in the user's home and the npm folders in the checkout, and fill them under this lock."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FOLDER = Path.home() / ".cache" / "socialflow-test-locks"


@contextmanager
def held(name: str) -> Iterator[None]:
    """Hold the lock called ``name`` (a file lock: released if the holder dies)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    with (FOLDER / f"{name}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
