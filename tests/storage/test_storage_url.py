"""open_store URL parsing, and ping against unreachable backends."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.s3 import S3Server

from storage import BucketNotFound, LocalStore, S3Store, StorageUnavailable, open_store

SECRET = b"url-test-secret"


def test_file_url_opens_local_store(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/blobs", secret=SECRET)
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "blobs").resolve() and store.root.is_dir()
    store.put("x", b"1")
    assert (tmp_path / "blobs" / "x").read_bytes() == b"1"


def test_s3_url_with_userinfo() -> None:
    store = open_store("s3://AK%2Fx:SK%40y@my-bucket?endpoint=http://h:8333&region=eu-west-1", secret=SECRET)
    assert isinstance(store, S3Store)
    assert (store.bucket, store.endpoint_url, store.region, store.prefix) == (
        "my-bucket",
        "http://h:8333",
        "eu-west-1",
        "",
    )
    assert store._credentials == {"aws_access_key_id": "AK/x", "aws_secret_access_key": "SK@y"}


def test_s3_url_with_query_credentials_and_prefix() -> None:
    store = open_store("s3://b1x?access_key=A&secret_key=S&prefix=sf/data", secret=SECRET)
    assert isinstance(store, S3Store)
    assert (store.region, store.endpoint_url, store.prefix) == ("us-east-1", None, "sf/data/")
    assert store._credentials == {"aws_access_key_id": "A", "aws_secret_access_key": "S"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unknown storage URL scheme 'ftp' (use file:// or s3://)"),
        ("/plain/path", "unknown storage URL scheme '' (use file:// or s3://)"),
        ("file://relative/path", "names a host"),
        ("file:///", "absolute folder path"),
        ("file:///x?y=1", "takes no query"),
        ("s3://?endpoint=http://h", "names no bucket"),
        ("s3://bucket/path", "has a path"),
        ("s3://bucket?endpont=http://h", "unknown parameters ['endpont']"),
        ("s3://bucket?region=a&region=b", "given 2 times"),
        ("s3://onlykey@bucket", "only one of"),
        ("s3://bucket?endpoint=h:8333", "http:// or https://"),
    ],
)
def test_bad_urls_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        open_store(url, secret=SECRET)
    assert message in str(caught.value)


def test_ensure_creates_missing_bucket(s3_server: S3Server) -> None:
    store = open_store(s3_server.url("sf-ensure-created"), secret=SECRET)
    with pytest.raises(StorageUnavailable):
        store.ping()
    store = open_store(s3_server.url("sf-ensure-created"), secret=SECRET, ensure=True)
    store.ping()
    assert isinstance(store, S3Store)
    assert store.ensure_bucket() is False  # it exists now
    s3_server.client().delete_bucket(Bucket="sf-ensure-created")


def test_a_missing_bucket_is_named(s3_server: S3Server) -> None:
    store = open_store(s3_server.url("sf-never-made"), secret=SECRET)
    with pytest.raises(BucketNotFound) as caught:
        store.ping()
    assert str(caught.value) == f"the bucket 'sf-never-made' does not exist at {s3_server.endpoint}"
    assert caught.value.code == "BUCKET_NOT_FOUND" and caught.value.status == 503
    with pytest.raises(BucketNotFound, match="the bucket 'sf-never-made' does not exist"):
        store.read("a/key")
    with pytest.raises(BucketNotFound, match="the bucket 'sf-never-made' does not exist"):
        list(store.list("a/"))


def test_ensure_without_the_right_to_create_names_the_bucket(s3_server: S3Server) -> None:
    store = open_store(s3_server.url("sf-not-mine", writer=True), secret=SECRET)
    assert isinstance(store, S3Store)
    with pytest.raises(BucketNotFound) as caught:
        store.ensure_bucket()
    assert str(caught.value).startswith("the bucket 'sf-not-mine' does not exist at ")
    assert "these credentials may not create it (AccessDenied)" in str(caught.value)
    assert "sf-not-mine" not in [b["Name"] for b in s3_server.client().list_buckets()["Buckets"]]


def test_wrong_credentials_are_unavailable(s3_server: S3Server) -> None:
    store = S3Store("whatever-bucket", s3_server.endpoint, access_key="bad", secret_key="worse")
    with pytest.raises(StorageUnavailable) as caught:
        store.ping()
    assert caught.value.status == 503 and caught.value.code == "STORAGE_UNAVAILABLE"


def test_unreachable_endpoint_is_unavailable(unused_port: int) -> None:
    store = S3Store("bucket", f"http://127.0.0.1:{unused_port}", access_key="a", secret_key="b")
    with pytest.raises(StorageUnavailable):
        store.ping()
    with pytest.raises(StorageUnavailable):
        store.put("k", b"x")


def test_local_ping_fails_without_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "root", SECRET)
    store.ping()
    (tmp_path / "root" / ".sf-tmp").rmdir()
    (tmp_path / "root").rmdir()
    with pytest.raises(StorageUnavailable):
        store.ping()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_s3_prefix_isolates_keys(s3_bucket_url: str, s3_server: S3Server) -> None:
    bucket = bucket_of(s3_bucket_url)
    outer = open_store(s3_bucket_url, secret=SECRET)
    inner = open_store(s3_bucket_url + "&prefix=tenant/a", secret=SECRET)
    outer.put("other", b"0")
    inner.put("k/1", b"1")
    inner.put("k/2", b"2")
    assert [i.key for i in inner.list()] == ["k/1", "k/2"]
    assert [i.key for i in outer.list()] == ["other", "tenant/a/k/1", "tenant/a/k/2"]
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(item["Key"] for item in listed) == ["other", "tenant/a/k/1", "tenant/a/k/2"]
    assert inner.read("k/2") == b"2" and inner.stat("k/1").size == 1
    assert inner.delete_prefix("") == 2
    assert [i.key for i in outer.list()] == ["other"]


def bucket_of(url: str) -> str:
    return urlsplit(url).hostname or ""
