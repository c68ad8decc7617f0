"""The video service's bookkeeping under concurrency: SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from control_plane.accounts.models import User
from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.videos import VideoService
from control_plane.videos.models import Video
from storage.stores.local import LocalStore

PARTS = [f"run:{i}" for i in range(12)] + ["audio", "stills"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def test_parts_finishing_at_once_are_all_recorded_and_one_finalizes(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    with db.session() as session:
        session.add(User(id="u1", username="u1", email="u1@example.com", password_hash="x"))
        session.add(Video(id="v1", owner_id="u1", status="processing", progress=0.0))
    videos = VideoService(db, lambda *a, **k: None, LocalStore(tmp_path / "blobs", secret=b"test"))
    videos.plan_parts("v1", PARTS)
    start = threading.Barrier(len(PARTS))
    last: list[str] = []

    def finish(name: str) -> None:
        start.wait()
        if videos.part_done("v1", name, start=0.0, end=1.0):
            last.append(name)

    threads = [threading.Thread(target=finish, args=(name,)) for name in PARTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as session:
        video = session.get(Video, "v1")
        assert video is not None and video.outputs is not None
        assert sorted(video.outputs["chunked"]["done"]) == sorted(PARTS)
        assert video.progress == 1.0
    assert len(last) == 1
    db.dispose()
