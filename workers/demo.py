"""``socialflow demo``: the platform end to end on the embedded default, over real HTTP.

It starts a private embedded platform in a temporary folder, then walks through what users do,
with progress bars: sign up, upload a clip with tus, wait for the transcode, play the HLS back
with PyAV, register the clip as a Content-ID reference and watch a re-upload get claimed.
"""

from __future__ import annotations

import base64
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from control_plane.core.settings import Settings, load_settings
from control_plane.services import Services

__all__ = ["run_demo", "progress_bar"]

PASSWORD = "demo passphrase 1"


def progress_bar(label: str, fraction: float, *, width: int = 30) -> None:
    """Draw a one-line progress bar on stderr (fraction is 0..1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(round(width * fraction))
    sys.stderr.write(f"\r{label:<28} [{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}%")
    if fraction >= 1.0:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def embedded_platform(data_dir: Path) -> Iterator[tuple[str, Services]]:
    """An embedded platform served on a free loopback port; yields its base URL and services."""
    import uvicorn

    from control_plane.app import create_app
    from control_plane.core import migrate
    from control_plane.http.clientip import proxy_header_options
    from control_plane.services import build_services
    from workers import runtime
    from workers.broker import broker_for
    from workers.inprocess import start_inprocess_workers
    from workers.live import WhipIngest

    settings: Settings = load_settings(data_dir=data_dir, http_port=_free_port(), log_json=False)
    services = build_services(settings, broker=broker_for(settings))
    migrate.upgrade(services.db)
    runtime.configure(
        runtime.WorkerContext(
            settings=settings,
            db=services.db,
            store=services.store,
            kv=services.kv,
            broker=services.broker,
            pubsub=services.pubsub,
        )
    )
    worker = start_inprocess_workers(services.broker, settings.embedded_worker_threads)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services, whip=WhipIngest(services)),
            host="127.0.0.1",
            port=settings.http_port,
            log_level="warning",
            **proxy_header_options(settings.trusted_proxies),
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = settings.effective_public_url
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.05)
        yield base, services
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        worker.stop()
        services.close()


def _step(name: str, fn: Callable[[], str]) -> bool:
    try:
        detail = fn()
    except Exception as exc:
        print(f"  FAILED  {name}: {exc}")
        return False
    print(f"  ok      {name}: {detail}")
    return True


def _make_clips(folder: Path) -> tuple[Path, Path]:
    """A 20 s test-pattern video with a tone, and a 10 s rescaled excerpt of it (a re-upload)."""
    import subprocess

    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    original, copy = folder / "original.mp4", folder / "reupload.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:d=20",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:d=20",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-c:a",
            "aac",
            "-shortest",
            str(original),
        ],
        check=True,
    )
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-ss",
            "6",
            "-t",
            "10",
            "-i",
            str(original),
            "-vf",
            "scale=480:270",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-c:a",
            "aac",
            str(copy),
        ],
        check=True,
    )
    return original, copy


class DemoClient:
    """What a creator's app does, over real HTTP: sign in, upload with tus, watch, play."""

    def __init__(self, base: str, username: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.username = username
        r = self.http.post(
            "/api/v1/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        )
        r.raise_for_status()
        r = self.http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def upload(self, path: Path, title: str, chunk: int = 256 * 1024) -> str:
        """A tus 1.0 upload in chunks, each acknowledged offset durable; returns the video id."""
        data = path.read_bytes()
        tus = {"Tus-Resumable": "1.0.0"}
        meta = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in (("filename", path.name), ("title", title))
        )
        r = self.http.post(
            "/api/v1/uploads/", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta}
        )
        r.raise_for_status()
        location = r.headers["location"]
        offset = 0
        while offset < len(data):
            r = self.http.patch(
                location,
                content=data[offset : offset + chunk],
                headers={
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            r.raise_for_status()
            offset = int(r.headers["upload-offset"])
            progress_bar(f"upload {path.name}", offset / len(data))
        return location.rsplit("/", 1)[-1]

    def wait(
        self, video_id: str, label: str, until: tuple[str, ...] = ("ready", "failed", "blocked")
    ) -> dict:
        deadline = time.monotonic() + 300
        while True:
            video = self.http.get(f"/api/v1/videos/{video_id}").json()
            progress_bar(label, video["progress"] if video["status"] not in until else 1.0)
            if video["status"] in until:
                return dict(video)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not finish: {video['status']}")
            time.sleep(0.2)


def _play(http: httpx.Client, master_url: str, folder: Path) -> str:
    """Fetch the first rung's init and segments as a player would, and decode them with PyAV."""
    import av

    def lines(url: str) -> list[str]:
        return [line.strip() for line in http.get(url).text.splitlines() if line.strip()]

    master = lines(master_url)
    variant = urljoin(master_url, next(line for line in master if not line.startswith("#")))
    playlist = lines(variant)
    init = next(line for line in playlist if line.startswith("#EXT-X-MAP:"))
    init_uri = init.split('URI="', 1)[1].split('"', 1)[0]
    segments = [line for line in playlist if not line.startswith("#")]
    body = http.get(urljoin(variant, init_uri)).content
    for number, segment in enumerate(segments, start=1):
        body += http.get(urljoin(variant, segment)).content
        progress_bar("play back", number / len(segments))
    path = folder / "played.mp4"
    path.write_bytes(body)
    with av.open(str(path)) as container:
        frames = [f for f in container.decode(video=0)]
    return (
        f"{len(frames)} frames of {frames[0].width}x{frames[0].height} decoded from {len(segments)} segments"
    )


def run_demo(settings: Settings) -> int:
    """Run the demo; returns the exit status (0 when every step passed)."""
    with (
        tempfile.TemporaryDirectory(prefix="socialflow-demo-") as tmp,
        embedded_platform(Path(tmp) / "data") as (base, services),
    ):
        print(f"Social Flow demo on {base} (embedded default, data in {tmp})")
        folder = Path(tmp)
        state: dict[str, Any] = {}

        def sign_up() -> str:
            state["creator"], state["fan"] = DemoClient(base, "studio"), DemoClient(base, "fan")
            state["clips"] = _make_clips(folder)
            return "two accounts (a studio and a fan), two clips made with ffmpeg"

        def upload() -> str:
            state["video"] = state["creator"].upload(state["clips"][0], "Test pattern")
            return f"video {state['video']} ({state['clips'][0].stat().st_size} bytes, resumable tus 1.0)"

        def transcode() -> str:
            video = state["creator"].wait(state["video"], "transcode")
            if video["status"] != "ready":
                raise RuntimeError(video["error"] or video["status"])
            state["ready"] = video
            rungs = ", ".join(f"{r['height']}p" for r in video["renditions"] if r["height"])
            return f"ready in HLS and DASH: {rungs} + audio; poster {video['thumbnail'] is not None}"

        def play() -> str:
            return _play(state["creator"].http, state["ready"]["playback"]["hls"], folder)

        def content_id() -> str:
            creator, fan = state["creator"], state["fan"]
            r = creator.http.post(
                "/api/v1/contentid/references", json={"video_id": state["video"], "policy": "block"}
            )
            r.raise_for_status()
            reference = r.json()["id"]
            deadline = time.monotonic() + 120
            while not any(
                x["id"] == reference and x["status"] == "active"
                for x in creator.http.get("/api/v1/contentid/references").json()
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the reference was not indexed")
                time.sleep(0.2)
            copy = fan.upload(state["clips"][1], "Totally original")
            video = fan.wait(copy, "match re-upload", until=("blocked",))
            claims = fan.http.get(f"/api/v1/videos/{copy}/claims").json()
            if not claims:
                raise RuntimeError(f"no claim; the re-upload is {video['status']}")
            c = claims[0]
            return (
                f"re-upload {video['status']}: {c['kind']} match of {c['duration']:.1f} s, "
                f"{c['query_start']:.1f} s into the upload = {c['reference_start']:.1f} s into the original"
            )

        def canary() -> str:
            services.accounts.set_role("studio", "admin")
            http = state["creator"].http
            job = http.post("/api/v1/ops/canary").json()
            started = time.monotonic()
            while job["status"] not in ("succeeded", "failed") and time.monotonic() - started < 30:
                progress_bar("canary job", {"queued": 0.2, "running": 0.6}.get(job["status"], 0.0))
                time.sleep(0.1)
                job = http.get(f"/api/v1/jobs/{job['id']}").json()
            progress_bar("canary job", 1.0)
            if job["status"] != "succeeded":
                raise RuntimeError(job.get("error") or job["status"])
            return f"worker {job['worker']} stored and read back {job['result']['bytes']} bytes"

        steps = [
            ("sign up", sign_up),
            ("resumable upload", upload),
            ("transcode", transcode),
            ("play back", play),
            ("Content-ID", content_id),
            ("background job round trip", canary),
        ]
        ok = all(_step(name, fn) for name, fn in steps)
        for client in ("creator", "fan"):
            if client in state:
                state[client].http.close()
    return 0 if ok else 1
