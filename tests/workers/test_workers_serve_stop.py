"""Ctrl-C on `socialflow serve` while a transcode runs: it says what it waits for and for how long,
a second Ctrl-C stops it at once, and the job runs again (and to the end) on the next start."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.serve import Serve, make_clip

GRACE_S = 120


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Long enough that its transcode outlasts the test's signals: 720p, so the ladder has four
    rungs (a 360p clip of the same length took 3 s on a quiet 2-core machine, less than the
    signals and the grace take)."""
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=40, size="1280x720").read_bytes()


def transcoding(tmp_path: Path, clip: bytes, **env: str) -> tuple[Serve, dict[str, str], str]:
    """A serve process on a fresh data dir, its transcode of ``clip`` under way."""
    serve = Serve(tmp_path / "data", **env).start()
    headers = serve.user("ada")
    video_id = serve.upload(headers, clip)
    deadline = time.monotonic() + 60
    while serve.video(headers, video_id)["progress"] < 0.1:
        assert time.monotonic() < deadline, serve.log()
        time.sleep(0.1)
    return serve, headers, video_id


def test_second_ctrl_c_stops_at_once_and_the_job_runs_on_the_next_start(tmp_path: Path, clip: bytes) -> None:
    serve, headers, video_id = transcoding(tmp_path, clip, shutdown_grace=str(GRACE_S))
    assert serve.process is not None
    try:
        serve.signal(signal.SIGINT)
        said = json.loads(serve.wait_for_line("waiting up to", timeout=20))["msg"]
        # the Content-ID match of the same upload may be running beside the transcode
        assert said.startswith(f"waiting up to {GRACE_S} s for ") and " running job(s) to finish: " in said
        assert f"video.process of video:{video_id} (running for " in said
        assert said.endswith("press Ctrl-C again to stop now (they run again on the next start)")
        time.sleep(1)
        assert serve.process.poll() is None  # still waiting for the transcode
        asked = time.monotonic()
        serve.signal(signal.SIGINT)
        assert serve.process.wait(timeout=10) == 130
        assert time.monotonic() - asked < 10
        said = json.loads(serve.wait_for_line("stopped on a second signal", timeout=5))["msg"]
        assert "without waiting for" in said and f"video.process of video:{video_id}" in said
    finally:
        serve.stop()
    job = serve.jobs(video_id)["video.process"]
    assert job.status == "queued" and job.attempts == 0 and job.worker is None, job.__dict__  # handed back

    again = Serve(serve.data_dir).start()
    try:
        video = again.wait_video(again.user("ada"), video_id, {"ready", "failed"}, timeout=240)
        assert video["status"] == "ready", (video, again.log())
        # The video turns ready inside the job, and the job's row is marked succeeded just after:
        # stopping in between would hand the job back again.
        deadline = time.monotonic() + 30
        while (job := serve.jobs(video_id)["video.process"]).status != "succeeded":
            assert time.monotonic() < deadline, job.__dict__
            time.sleep(0.1)
    finally:
        again.stop()
    assert job.status == "succeeded" and job.attempts == 1


def test_the_wait_is_bounded_by_the_grace(tmp_path: Path, clip: bytes) -> None:
    serve, _, video_id = transcoding(tmp_path, clip, shutdown_grace="2")
    assert serve.process is not None
    try:
        asked = time.monotonic()
        serve.signal(signal.SIGTERM)
        serve.wait_for_line("waiting up to 2 s for ", timeout=20)
        assert serve.process.wait(timeout=20) == 130
        assert time.monotonic() - asked < 20
        assert "video.process" in serve.wait_for_line("stopped after 2 s without waiting for", timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail(serve.log())
    finally:
        serve.stop()
    assert serve.jobs(video_id)["video.process"].status == "queued"
