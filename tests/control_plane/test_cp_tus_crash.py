"""A `socialflow serve` killed mid-upload and restarted on the same data dir: the client resumes and
the final file is byte-identical."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from tusclient import client as tus

SOCIALFLOW = str(Path(sys.executable).with_name("socialflow"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALFLOW_")}
    env.update(SOCIALFLOW_DATA_DIR=str(data), SOCIALFLOW_HTTP_PORT=str(port))
    proc = subprocess.Popen(
        [SOCIALFLOW, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)


def test_server_killed_mid_upload_then_resumed(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    server = start(data_dir, port)
    try:
        httpx.post(
            f"{base}/api/v1/auth/register",
            json={"username": "ann", "email": "ann@example.com", "password": "a long passphrase"},
        )
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "ann", "password": "a long passphrase"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        payload = os.urandom(40 * 1024 * 1024)
        path = tmp_path / "long.mp4"
        path.write_bytes(payload)
        uploader = tus.TusClient(f"{base}/api/v1/uploads/", headers=headers).uploader(
            str(path), chunk_size=4 * 1024 * 1024, metadata={"filename": "long.mp4"}
        )
        uploader.upload_chunk()  # creates the upload and sends the first chunk
        url = uploader.url
        first = uploader.offset
        # The next PATCH streams 2 MiB, then stalls until the server has been killed under it.
        killed = threading.Event()

        def body() -> Iterator[bytes]:
            yield payload[first : first + 2 * 1024 * 1024]
            killed.wait(30)
            yield payload[first + 2 * 1024 * 1024 : first + 4 * 1024 * 1024]

        errors: list[BaseException] = []

        def send() -> None:
            try:
                httpx.patch(
                    url,
                    content=body(),
                    timeout=60,
                    headers={
                        **headers,
                        "Tus-Resumable": "1.0.0",
                        "Upload-Offset": str(first),
                        "Content-Type": "application/offset+octet-stream",
                        "Content-Length": str(4 * 1024 * 1024),
                    },
                )
            except (httpx.HTTPError, OSError) as exc:
                errors.append(exc)

        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(1.0)  # the first 2 MiB are on the server
        server.send_signal(signal.SIGKILL)  # no chance to tidy up
        server.wait()
        killed.set()
        thread.join(timeout=30)
        assert errors, "the PATCH should have been cut off by the crash"

        server = start(data_dir, port)
        resumed = tus.TusClient(f"{base}/api/v1/uploads/", headers=headers).uploader(
            str(path), url=url, chunk_size=4 * 1024 * 1024
        )
        offset = resumed.get_offset()
        assert first <= offset <= first + 2 * 1024 * 1024  # what arrived before the crash, and no more
        resumed.upload()
        video_id = url.rsplit("/", 1)[1]
        source = httpx.get(f"{base}/api/v1/videos/{video_id}/source", headers=headers, timeout=60)
        assert hashlib.sha256(source.content).hexdigest() == hashlib.sha256(payload).hexdigest()
    finally:
        server.terminate()
        server.wait(timeout=20)
