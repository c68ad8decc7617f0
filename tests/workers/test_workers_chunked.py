"""Chunked transcoding through its actors: the parts and the finalize reuse the probe of
``video.process`` and read only the source bytes they need."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import pytest
import sqlalchemy as sa
from support.platform import Platform, embedded

from benchmarks._counting_store import CountingStore
from control_plane.jobs.models import Job
from control_plane.videos.models import Video
from pipelines import MediaInfo, probe
from workers import runtime
from workers.actors import source
from workers.actors.chunked import finalize, part
from workers.actors.video import process


@pytest.fixture(scope="module")
def noisy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of noisy 320x240 at 30 fps (about 9 MB, so runs span several 1 MiB blocks), with sound."""
    path = tmp_path_factory.mktemp("clips") / "noisy.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:d=20", "-f", "lavfi", "-i", "sine=d=20",
         "-vf", "noise=alls=8:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "24", "-g", "15",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _jobs(platform: Platform, kind: str) -> list[Job]:
    with platform.services.db.session() as session:
        jobs = list(session.scalars(sa.select(Job).where(Job.kind == kind).order_by(Job.created_at)))
        session.expunge_all()
    return jobs


def _uploaded(platform: Platform, video_id: str) -> list[str]:
    return [info.key for info in platform.services.store.list(f"videos/{video_id}/")]


def _source_key(platform: Platform, video_id: str) -> str:
    with platform.services.db.session() as session:
        video = session.get(Video, video_id)
        assert video is not None and video.source_key
        return video.source_key


def _counting() -> CountingStore:
    """Count what the actors read from now on."""
    counting = CountingStore(runtime.current().store)
    runtime.current().store = counting
    return counting


def test_parts_reuse_the_probe_and_read_only_their_bytes(
    platform_factory: Callable[..., Platform],
    noisy_clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = embedded(tmp_path, chunked_min_duration=5.0, chunk_segments=1)
    platform = platform_factory(settings, inprocess_workers=False)
    headers = platform.user("creator")
    video_id = platform.upload(headers, noisy_clip.read_bytes())
    size, key = noisy_clip.stat().st_size, _source_key(platform, video_id)
    counting = _counting()

    [job] = _jobs(platform, "video.process")
    process(job.id)
    assert counting.take()[key].bytes == size  # the one download, for the one probe

    def no_probe(*args: object, **kwargs: object) -> None:
        raise AssertionError("a part probed its source again")

    monkeypatch.setattr(source, "probe", no_probe)
    parts = _jobs(platform, "video.part")
    assert [j.args["part"] for j in parts] == ["run:0", "run:1", "run:2", "run:3", "run:4", "audio", "stills"]
    expected = replace(probe(noisy_clip), path="")
    assert all(replace(MediaInfo.from_json(j.args["probe"]), path="") == expected for j in parts)
    read = {}
    for job in parts:
        part(job.id)
        read[job.args["part"]] = counting.take()[key].bytes
    # 4 s runs of a 20 s clip: the run, a second past it, the GOP before it, the header, in 1 MiB blocks
    assert all(read[f"run:{n}"] < 0.6 * size for n in range(5)), read
    assert size <= read["audio"] < size + 2**20 and read["stills"] == size, read

    [job] = _jobs(platform, "video.finalize")
    assert job.args["probe"] == parts[0].args["probe"]
    finalize(job.id)
    assert key not in counting.take()  # the finalize reads the parts' outputs, never the source
    with platform.services.db.session() as session:
        video = session.get(Video, video_id)
        assert video is not None and video.status == "ready" and len(video.renditions or []) == 2


def test_a_part_planned_without_a_probe_downloads_and_probes(
    platform_factory: Callable[..., Platform], noisy_clip: Path, tmp_path: Path
) -> None:
    """A part enqueued by a release that did not store the probe still runs, to the same files
    (their bytes may differ: x264's frame threads do not encode twice alike)."""
    settings = embedded(tmp_path, chunked_min_duration=5.0, chunk_segments=1)
    platform = platform_factory(settings, inprocess_workers=False)
    video_id = platform.upload(platform.user("creator"), noisy_clip.read_bytes())
    [job] = _jobs(platform, "video.process")
    process(job.id)
    run = _jobs(platform, "video.part")[2]
    part(run.id)
    with_probe = _uploaded(platform, video_id)
    assert sorted(key.rsplit("/", 1)[1] for key in with_probe if "/240p/" in key) == ["seg_00003.m4s"]
    with platform.services.db.session() as session:
        stored = session.get(Job, run.id)
        assert stored is not None
        stored.args = {k: v for k, v in stored.args.items() if k != "probe"}
    platform.services.store.delete_prefix(f"videos/{video_id}/")
    counting = _counting()
    part(run.id)
    assert counting.take()[_source_key(platform, video_id)].bytes == noisy_clip.stat().st_size
    assert _uploaded(platform, video_id) == with_probe
