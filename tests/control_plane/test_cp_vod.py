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
from support.platform import Platform, live_server
from tusclient import client as tus


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
    headers = {**platform.user("creator"), "Tus-Resumable": "1.0.0"}
    data = clip.read_bytes()[: len(clip.read_bytes()) // 3]  # cut off, like an upload of a partial file
    data = b"\x00" * 64 + data[64:]  # and its header destroyed
    r = platform.client.post("/api/v1/uploads/", headers={**headers, "Upload-Length": str(len(data))})
    loc = r.headers["location"]
    platform.client.patch(
        loc,
        headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=data,
    )
    video = wait_ready(platform, headers, loc.rsplit("/", 1)[1])
    assert video["status"] == "failed" and video["error"] and "Traceback" not in video["error"]
    assert video["playback"] == {"hls": None, "dash": None}
