"""What removals leave to do after their commit: a purge the store refuses goes to the
``blobs.purge`` job, which finishes it; a purge never reaches past a folder."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.platform import Platform
from support.waiting import wait_until

from control_plane.core.leftovers import Leftovers, purge
from control_plane.jobs.models import Job
from storage import StorageUnavailable, open_store


@pytest.mark.parametrize("prefix", ["", "videos", "/", "videos/../", "a//"])
def test_a_purge_reaches_only_whole_folders(platform: Platform, prefix: str) -> None:
    store = platform.services.store
    store.put("videos/keep/one.m4s", b"1")
    with pytest.raises(ValueError, match="not a folder prefix"):
        purge(store, ["videos/keep/one.m4s"], [prefix])
    assert store.exists("videos/keep/one.m4s")  # refused before anything was deleted


def test_a_purge_the_store_refuses_is_finished_by_the_job(platform: Platform) -> None:
    store = platform.services.store
    for key in ("videos/v1/a.m4s", "videos/v1/b/c.jpg", "fingerprints/v1.fp", "videos/v2/keep.m4s"):
        store.put(key, b"x")
    down = open_store("s3://k:s@bucket?endpoint=http://127.0.0.1:1&region=us-east-1", secret=b"s" * 32)
    with pytest.raises(StorageUnavailable):
        down.ping()
    ran: list[str] = []
    leftovers = Leftovers(
        keys=["fingerprints/v1.fp"], prefixes=["videos/v1/"], then=[lambda: ran.append("then")]
    )
    leftovers.settle(down, platform.services.jobs.enqueue)
    assert ran == ["then"]  # the work after the commit runs even when the store is down

    def job() -> Job | None:
        with platform.services.db.session() as session:
            return session.scalar(sa.select(Job).where(Job.kind == "blobs.purge"))

    assert wait_until(lambda: (found := job()) is not None and found.status == "succeeded", 30), job()
    found = job()
    assert found is not None and found.result == {"deleted": 3}
    assert [info.key for info in store.list("")] == ["videos/v2/keep.m4s"]
