"""Upload to playback: a real clip through tus, the transcode job, publishing, and PyAV playing
what the API points at, over real HTTP."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree

import av
import httpx
import imageio_ffmpeg
import m3u8
import pytest
import sqlalchemy as sa
from support.platform import Platform, embedded, live_server, start_platform
from tusclient import client as tus

from control_plane.jobs.models import Job


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:d=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:d=6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )
    return path


def wait_ready(platform: Platform, headers: dict[str, str], video_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    seen: list[float] = []
    while time.monotonic() < deadline:
        video = platform.client.get(f"/api/v1/videos/{video_id}", headers=headers).json()
        seen.append(video["progress"])
        if video["status"] in ("ready", "failed"):
            video["_progress_seen"] = seen
            return video
        time.sleep(0.1)
    raise AssertionError(f"video {video_id} not done: {video}")


def test_upload_transcode_play(platform: Platform, clip: Path, tmp_path: Path) -> None:
    headers = platform.user("creator")
    with live_server(platform) as base:
        platform.services.settings.public_url = base  # playback URLs are built on the public URL
        uploader = tus.TusClient(f"{base}/api/v1/uploads/", headers=headers).uploader(
            str(clip), chunk_size=64 * 1024, metadata={"filename": "clip.mp4", "title": "Test pattern"}
        )
        uploader.upload()
        video_id = uploader.url.rsplit("/", 1)[-1]
        video = wait_ready(platform, headers, video_id)
        assert video["status"] == "ready", video
        assert video["progress"] == 1.0 and video["error"] is None
        assert video["duration"] == pytest.approx(6.0, abs=0.1)
        assert video["renditions"] and video["renditions"][0]["codec"].startswith("avc1")
        assert {r["height"] for r in video["renditions"] if r["height"]} >= {240}
        hls, dash = video["playback"]["hls"], video["playback"]["dash"]
        assert hls.startswith(base + "/media/videos/") and dash.endswith(".mpd")
        assert video["thumbnail"].endswith(".jpg") and video["storyboard"].endswith(".vtt")

        master = m3u8.loads(httpx.get(hls).text, uri=hls)
        assert master.is_variant and master.playlists
        media_url = master.playlists[0].absolute_uri
        playlist = m3u8.loads(httpx.get(media_url).text, uri=media_url)
        assert playlist.is_endlist and playlist.segment_map
        init = httpx.get(playlist.segment_map[0].absolute_uri).content
        body = init + b"".join(httpx.get(s.absolute_uri).content for s in playlist.segments)
        (tmp_path / "rung.mp4").write_bytes(body)
        with av.open(str(tmp_path / "rung.mp4")) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == 150  # 6 s at 25 fps, every frame played back

        mpd = ElementTree.fromstring(httpx.get(dash).content)
        assert mpd.tag.endswith("MPD") and mpd.get("type") == "static"

        ranged = httpx.get(playlist.segments[0].absolute_uri, headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.content) == 100
        assert httpx.get(video["thumbnail"]).headers["content-type"] == "image/jpeg"

    keys = [info.key for info in platform.services.store.list(f"videos/{video_id}/")]
    assert any(k.endswith("master.m3u8") for k in keys) and any(k.endswith(".m4s") for k in keys)


def test_media_of_unready_or_unknown_videos_is_not_served(platform: Platform) -> None:
    assert platform.client.get("/media/videos/" + "0" * 32 + "/master.m3u8").status_code == 404
    assert platform.client.get("/media/videos/x/../../secret_key").status_code == 404


def test_corrupt_upload_fails_with_a_readable_reason(platform: Platform, clip: Path) -> None:
    headers = platform.user("creator")
    data = clip.read_bytes()[: len(clip.read_bytes()) // 3]  # cut off, like an upload of a partial file
    data = b"\x00" * 64 + data[64:]  # and its header destroyed
    video = wait_ready(platform, headers, platform.upload(headers, data))
    assert video["status"] == "failed" and video["error"] and "Traceback" not in video["error"]
    assert video["playback"] == {"hls": None, "dash": None}


def rung_frames_and_durations(base_url: str, tmp_path: Path, name: str) -> tuple[list[int], list[float]]:
    """Frames per segment and segment durations of every rung of the master playlist at ``base_url``."""
    master = m3u8.loads(httpx.get(base_url).text, uri=base_url)
    frames, durations = [], []
    for variant in master.playlists:
        playlist = m3u8.loads(httpx.get(variant.absolute_uri).text, uri=variant.absolute_uri)
        init = httpx.get(playlist.segment_map[0].absolute_uri).content
        for segment in playlist.segments:
            path = tmp_path / f"{name}.mp4"
            path.write_bytes(init + httpx.get(segment.absolute_uri).content)
            with av.open(str(path)) as container:
                frames.append(sum(1 for _ in container.decode(video=0)))
            durations.append(segment.duration)
    return frames, durations


def test_chunked_path_matches_the_single_pass(tmp_path: Path, clip: Path) -> None:
    results = {}
    for mode, overrides in {
        "single": {},
        "chunked": {"chunked_min_duration": 5.0, "chunk_segments": 1},
    }.items():
        gen = start_platform(embedded(tmp_path / mode, **overrides))
        platform = next(gen)
        try:
            headers = platform.user("creator")
            video_id = platform.upload(headers, clip.read_bytes())
            with live_server(platform) as base:
                platform.services.settings.public_url = base
                video = wait_ready(platform, headers, video_id)
                assert video["status"] == "ready", video
                results[mode] = rung_frames_and_durations(video["playback"]["hls"], tmp_path, mode)
            with platform.services.db.session() as session:
                # the video's own jobs (its being ready also notifies, in jobs of their own)
                kinds = list(
                    session.scalars(sa.select(Job.kind).where(~Job.kind.startswith("notifications.")))
                )
            if mode == "chunked":
                # 6 s at 4 s segments and one segment a run: two runs, the audio, the stills, then finalize
                # (and the Content-ID match, which every upload gets).
                assert sorted(kinds) == sorted(
                    [
                        "video.process",
                        "contentid.match",
                        "video.part",
                        "video.part",
                        "video.part",
                        "video.part",
                        "video.finalize",
                    ]
                )
                assert video["thumbnail"] and video["storyboard"]
        finally:
            for _ in gen:
                pass
    assert results["chunked"] == results["single"]
    frames, durations = results["single"]
    assert durations[:2] == [4.0, 2.0] and sum(frames[:2]) == 150
