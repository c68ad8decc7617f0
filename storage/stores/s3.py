"""Blobs in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS) through boto3.

Keys are stored under an optional ``prefix`` inside the bucket. Large streams are sent as
multipart uploads of ``part_size`` bytes, so memory stays near one part whatever the blob size.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..base import BlobInfo, BlobStore, check_range
from ..errors import BucketNotFound, StorageError, StorageUnavailable
from ..keys import validate_key, validate_prefix
from .s3_errors import s3_errors
from .s3_parts import S3Multipart
from .streams import iter_chunks, read_exactly

__all__ = ["S3Store"]

log = logging.getLogger(__name__)

DEFAULT_PART_SIZE = 8 * 1024 * 1024


class S3Store(BlobStore, S3Multipart):
    """A bucket as a blob store. No network call happens until the first operation."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        *,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if not bucket:
            raise ValueError("S3Store needs a bucket name")
        if part_size < self.min_part_size:
            raise ValueError(f"part_size must be at least {self.min_part_size} bytes")
        if prefix:
            validate_prefix(prefix if prefix.endswith("/") else prefix + "/")
            prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.prefix = prefix
        self.part_size = part_size
        self._credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._client = self._make_client(endpoint_url)

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, prefix={self.prefix!r})"

    def _make_client(self, endpoint_url: str | None) -> Any:
        config = Config(
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            signature_version="s3v4",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        return boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=self.region, config=config, **self._credentials
        )

    def _name(self, key: str) -> str:
        """The object name of ``key``: the store's prefix plus the validated key."""
        return self.prefix + validate_key(key)

    @property
    def _where(self) -> str:
        return self.endpoint_url or "AWS"

    def _bucket_exists(self) -> bool:
        """Whether the bucket exists; raises StorageUnavailable when that cannot be told."""
        with s3_errors(self.bucket, self.bucket):
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code", "")) in {"404", "NoSuchBucket", "NotFound"}:
                    return False
                raise
        return True

    def ensure_bucket(self) -> bool:
        """Create the bucket unless it exists; True if this call created it.

        Raises ``BucketNotFound`` when it is missing and these credentials may not create it, and
        ``StorageUnavailable`` when the store cannot be reached.
        """
        if self._bucket_exists():
            return False
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with s3_errors(self.bucket, self.bucket):
            try:
                self._client.create_bucket(**args)
            except self._client.exceptions.BucketAlreadyOwnedByYou:
                return False
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in {"AccessDenied", "403"}:
                    raise BucketNotFound(
                        f"the bucket {self.bucket!r} does not exist at {self._where} and these credentials "
                        f"may not create it ({code}); create it, or let them"
                    ) from exc
                if code == "BucketAlreadyExists":
                    raise StorageUnavailable(
                        f"the bucket name {self.bucket!r} is taken by another account at {self._where}"
                    ) from exc
                raise
        log.info("created bucket %s", self.bucket)
        return True

    def put(
        self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """An object PUT (multipart past ``part_size``); S3 stores every object durably."""
        name = self._name(key)
        extra = {"ContentType": content_type} if content_type else {}
        first = bytes(data) if isinstance(data, bytes | bytearray) else read_exactly(data, self.part_size)
        if isinstance(data, bytes | bytearray) or len(first) < self.part_size:
            with s3_errors(key, self.bucket):
                self._client.put_object(Bucket=self.bucket, Key=name, Body=first, **extra)
            return len(first)
        with s3_errors(key, self.bucket):
            reply = self._client.create_multipart_upload(Bucket=self.bucket, Key=name, **extra)
        upload_id = reply["UploadId"]
        try:
            parts = [self.upload_part(key, upload_id, 1, first)]
            del first
            while chunk := read_exactly(data, self.part_size):
                parts.append(self.upload_part(key, upload_id, len(parts) + 1, chunk))
            self.complete_multipart(key, upload_id, parts)
        except BaseException:
            self.abort_multipart(key, upload_id)
            raise
        return sum(part.size for part in parts)

    def open(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        check_range(offset, length)
        name = self._name(key)
        if length == 0:
            self.stat(key)
            return iter(())
        span = f"bytes={offset}-" if length is None else f"bytes={offset}-{offset + length - 1}"
        with s3_errors(key, self.bucket):
            try:
                body = self._client.get_object(Bucket=self.bucket, Key=name, Range=span)["Body"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                    raise
                self.stat(key)
                return iter(())
        return self._chunks(body, key, self.bucket)

    @staticmethod
    def _chunks(body: Any, key: str, bucket: str) -> Iterator[bytes]:
        try:
            with s3_errors(key, bucket):
                yield from iter_chunks(body)
        finally:
            body.close()

    def stat(self, key: str) -> BlobInfo:
        with s3_errors(key, self.bucket):
            head = self._client.head_object(Bucket=self.bucket, Key=self._name(key))
        return BlobInfo(
            key=key, size=head["ContentLength"], etag=head["ETag"].strip('"'), modified=head["LastModified"]
        )

    def delete(self, key: str) -> None:
        with s3_errors(key, self.bucket):
            self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        validate_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        with s3_errors(prefix, self.bucket):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield BlobInfo(
                        key=item["Key"][len(self.prefix) :],
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        modified=item["LastModified"],
                    )

    def delete_prefix(self, prefix: str) -> int:
        """Delete in batches of 1000 keys (one request each)."""
        deleted = 0
        batch: list[dict[str, str]] = []
        for info in self.list(prefix):
            batch.append({"Key": self.prefix + info.key})
            if len(batch) == 1000:
                deleted += self._delete_batch(batch)
                batch = []
        if batch:
            deleted += self._delete_batch(batch)
        return deleted

    def _delete_batch(self, batch: builtins.list[dict[str, str]]) -> int:
        with s3_errors(batch[0]["Key"], self.bucket):
            reply = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        if reply.get("Errors"):
            raise StorageUnavailable(f"could not delete {len(reply['Errors'])} objects: {reply['Errors'][0]}")
        return len(batch)

    def signed_url(self, key: str, expires_in: int, *, public_base: str | None = None) -> str:
        """A SigV4 presigned GET; with ``public_base`` it is signed for that host instead."""
        if not isinstance(expires_in, int) or not 0 < expires_in <= 7 * 24 * 3600:
            raise ValueError(f"expires_in must be 1..604800 seconds, got {expires_in!r}")
        client = self._make_client(public_base) if public_base else self._client
        url: str = client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._name(key)}, ExpiresIn=expires_in
        )
        return url

    def ping(self) -> None:
        """Return if the bucket answers; else raise ``BucketNotFound`` or ``StorageUnavailable``."""
        try:
            exists = self._bucket_exists()
        except StorageError as exc:
            raise StorageUnavailable(
                f"bucket {self.bucket!r} at {self._where} is not reachable: {exc}"
            ) from exc
        if not exists:
            raise BucketNotFound(f"the bucket {self.bucket!r} does not exist at {self._where}")
