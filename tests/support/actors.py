"""Actors used only by the tests of the job machinery."""

from __future__ import annotations

import time

from workers import runtime

ATTEMPTS: dict[str, int] = {}


class BadInput(Exception):
    """An error that carries a wire form, like pipelines' MediaError."""

    code = "BAD_INPUT"
    status = 422


def flaky(job_id: str) -> dict[str, int]:
    """Fails on its first attempt, succeeds on the second."""
    ATTEMPTS[job_id] = ATTEMPTS.get(job_id, 0) + 1
    if ATTEMPTS[job_id] == 1:
        raise ConnectionError("transient failure")
    return {"attempts": ATTEMPTS[job_id]}


def broken(job_id: str) -> None:
    raise BadInput("The file is empty.")


def slow(job_id: str) -> None:
    time.sleep(5)


def touch(job_id: str) -> dict[str, str]:
    ctx = runtime.current()
    ctx.store.put(f"touched/{job_id}", b"x")
    return {"key": f"touched/{job_id}"}
