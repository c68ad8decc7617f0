"""Open a blob store from a storage URL (``SOCIALFLOW_STORAGE_URL``).

- ``file:///abs/path`` opens a ``LocalStore`` rooted at that folder.
- ``s3://bucket?endpoint=http://host:8333&region=us-east-1&prefix=some/dir`` opens an ``S3Store``;
  credentials come from the userinfo (``s3://KEY:SECRET@bucket``, percent-encoded) or the query
  parameters ``access_key`` and ``secret_key``. Without either, boto3's own credential chain is used.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .base import BlobStore
from .stores.local import LocalStore
from .stores.s3 import S3Store

__all__ = ["open_store"]

S3_PARAMS = {"endpoint", "region", "access_key", "secret_key", "prefix"}


def open_store(url: str, *, secret: bytes, ensure: bool = False) -> BlobStore:
    """The store that ``url`` names; ``secret`` signs local URLs.

    With ``ensure=True`` an S3 bucket is created when missing (a network call; see
    ``S3Store.ensure_bucket``); a local root folder is always created. Raises ``ValueError`` for
    a malformed or unknown URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return _open_local(url, secret)
    if scheme == "s3":
        store = _open_s3(url)
        if ensure:
            store.ensure_bucket()
        return store
    raise ValueError(f"unknown storage URL scheme {scheme!r} (use file:// or s3://)")


def _open_local(url: str, secret: bytes) -> LocalStore:
    parts = urlsplit(url)
    if parts.netloc not in {"", "localhost"}:
        raise ValueError(f"file storage URL {url!r} names a host; use file:///absolute/path")
    if parts.query or parts.fragment:
        raise ValueError(f"file storage URL {url!r} takes no query or fragment")
    path = unquote(parts.path)
    if not path.startswith("/") or path == "/":
        raise ValueError(f"file storage URL {url!r} needs an absolute folder path (file:///abs/path)")
    return LocalStore(Path(path), secret)


def _open_s3(url: str) -> S3Store:
    parts = urlsplit(url)
    bucket = parts.hostname
    if not bucket:
        raise ValueError(f"S3 storage URL {url!r} names no bucket (s3://bucket?endpoint=...)")
    if parts.path not in {"", "/"}:
        raise ValueError(f"S3 storage URL {url!r} has a path; put a key prefix in ?prefix=")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = set(query) - S3_PARAMS
    if unknown:
        known = ", ".join(sorted(S3_PARAMS))
        raise ValueError(f"S3 storage URL has unknown parameters {sorted(unknown)} (known: {known})")
    for name, values in query.items():
        if len(values) != 1:
            raise ValueError(f"S3 storage URL parameter {name!r} is given {len(values)} times")
    params = {name: values[0] for name, values in query.items()}
    access_key = unquote(parts.username) if parts.username else params.get("access_key")
    secret_key = unquote(parts.password) if parts.password else params.get("secret_key")
    if bool(access_key) != bool(secret_key):
        raise ValueError("S3 storage URL gives only one of the access key and the secret key")
    endpoint = params.get("endpoint") or None
    if endpoint is not None and urlsplit(endpoint).scheme not in {"http", "https"}:
        raise ValueError(f"S3 endpoint {endpoint!r} must be an http:// or https:// URL")
    return S3Store(
        bucket=bucket,
        endpoint_url=endpoint,
        region=params.get("region") or "us-east-1",
        access_key=access_key,
        secret_key=secret_key,
        prefix=params.get("prefix", ""),
    )
