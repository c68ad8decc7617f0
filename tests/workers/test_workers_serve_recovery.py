"""`socialflow serve` killed (SIGKILL) right after an upload completed, then started again on the
same data dir: the jobs its in-process broker held are sent again and the video becomes ready."""

from __future__ import annotations

import time
from pathlib import Path

from support.serve import Serve, make_clip

from control_plane.core.db import Database
from control_plane.jobs.models import JobWorker


def test_jobs_of_a_killed_serve_run_on_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clip = make_clip(tmp_path / "clip.mp4", seconds=6, size="320x240").read_bytes()
    first = Serve(data).start()
    try:
        headers = first.user("ada")
        video_id = first.upload(headers, clip)
    finally:
        first.kill()
    stranded = first.jobs(video_id)
    assert {"video.process", "contentid.match"} <= set(stranded)
    assert all(job.status in ("queued", "running") for job in stranded.values()), stranded
    first_name = stranded["video.process"].held_by  # host:pid:token of the killed process
    assert first_name is not None and first.process is not None
    assert first_name.split(":")[1] == str(first.process.pid)
    assert {job.held_by for job in stranded.values()} == {first_name}

    second = Serve(data).start()
    try:
        headers = second.user("ada")
        video = second.wait_video(headers, video_id, {"ready", "failed"}, timeout=180)
        assert video["status"] == "ready", (video, second.log())
        assert "was stranded by a stopped process; sent again" in second.log()
        # The video turns ready inside the job; the job's own row is marked a moment later.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = second.jobs(video_id)
            if all(done[kind].status == "succeeded" for kind in ("video.process", "contentid.match")):
                break
            time.sleep(0.2)
    finally:
        second.stop()
    assert done["video.process"].status == "succeeded" and done["contentid.match"].status == "succeeded"
    assert done["video.process"].held_by != first_name
    db = Database(f"sqlite:///{data / 'socialflow.db'}")
    with db.session() as session:
        assert session.get(JobWorker, first_name) is not None  # the dead process, judged by its pid
    db.dispose()
