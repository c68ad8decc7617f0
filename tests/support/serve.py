"""`socialflow serve` as a real subprocess on the embedded default: start it on a data dir, talk
to it over HTTP (accounts, a tus upload, the video), read its log as it comes, stop or kill it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import imageio_ffmpeg
import sqlalchemy as sa

from control_plane.core.db import Database
from control_plane.jobs.models import Job

__all__ = ["Serve", "make_clip"]

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_clip(path: Path, seconds: int, size: str = "640x360") -> Path:
    """An H.264/AAC MP4 of ``seconds`` seconds: a moving test pattern and a tone."""
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:d={seconds}",
            "-f", "lavfi", "-i", f"sine=d={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


class Serve:
    """One ``socialflow serve`` process on ``data_dir``; ``env`` adds SOCIALFLOW_* settings."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port, self.rtmp_port = _free_port(), _free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
        self.env.update(
            SOCIALFLOW_DATA_DIR=str(data_dir),
            SOCIALFLOW_HTTP_PORT=str(self.port),
            SOCIALFLOW_RTMP_PORT=str(self.rtmp_port),
        )
        self.env.update({f"SOCIALFLOW_{k.upper()}": v for k, v in env.items()})
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60) -> Serve:
        self.process = subprocess.Popen(
            [SOCIALFLOW, "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, self.log()
            time.sleep(0.2)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines[-60:])

    def wait_for_line(self, text: str, timeout: float) -> str:
        """The first log line containing ``text``, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                if text in line:
                    return line
            assert time.monotonic() < deadline, f"no log line with {text!r}:\n{self.log()}"
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the process (and anything it started) and reap it."""
        assert self.process is not None
        os.killpg(self.process.pid, 9)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def jobs(self, video_id: str) -> dict[str, Job]:
        """The video's jobs by kind (the latest of each), read from the data dir's database."""
        db = Database(f"sqlite:///{self.data_dir / 'socialflow.db'}")
        try:
            with db.session() as session:
                rows = session.scalars(
                    sa.select(Job).where(Job.subject == f"video:{video_id}").order_by(Job.created_at)
                ).all()
                for row in rows:
                    session.expunge(row)
                return {row.kind: row for row in rows}
        finally:
            db.dispose()

    # -- the API -------------------------------------------------------------------------------

    def user(self, username: str, password: str = "a long passphrase") -> dict[str, str]:
        """Register (if new) and sign in; returns Authorization headers."""
        httpx.post(
            f"{self.base}/api/v1/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        r = httpx.post(f"{self.base}/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def upload(self, headers: dict[str, str], data: bytes) -> str:
        """Upload ``data`` with tus creation-with-upload; returns the video id once it is complete."""
        r = httpx.post(
            f"{self.base}/api/v1/uploads/",
            content=data,
            headers={
                **headers,
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=60,
        )
        assert r.status_code == 201 and r.headers["upload-offset"] == str(len(data)), r.text
        return r.headers["location"].rsplit("/", 1)[1]

    def video(self, headers: dict[str, str], video_id: str) -> dict:
        r = httpx.get(f"{self.base}/api/v1/videos/{video_id}", headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_video(self, headers: dict[str, str], video_id: str, until: set[str], timeout: float) -> dict:
        """Poll the video until its status is in ``until`` (or ``timeout`` seconds pass)."""
        deadline = time.monotonic() + timeout
        while True:
            video = self.video(headers, video_id)
            if video["status"] in until or time.monotonic() > deadline:
                return video
            time.sleep(0.2)
