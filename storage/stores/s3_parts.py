"""The multipart capability of ``S3Store``: S3's own multipart uploads, one request each."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from ..base import MultipartCapable, Part
from ..errors import InvalidMultipart
from .s3_errors import s3_errors

__all__ = ["MIN_PART_SIZE", "S3Multipart"]

MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part but the last, in bytes."""
MAX_PARTS = 10000


class S3Multipart(MultipartCapable):
    """Multipart uploads on ``bucket`` through a boto3 ``_client``; errors mapped by ``s3_errors``."""

    min_part_size = MIN_PART_SIZE
    bucket: str
    _client: Any

    @abstractmethod
    def _name(self, key: str) -> str:
        """The object name of ``key``; validates the key."""

    def create_multipart(self, key: str) -> str:
        with s3_errors(key, self.bucket):
            upload_id: str = self._client.create_multipart_upload(Bucket=self.bucket, Key=self._name(key))[
                "UploadId"
            ]
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> Part:
        if not 1 <= part_number <= MAX_PARTS:
            raise InvalidMultipart(f"part number must be 1..{MAX_PARTS}, got {part_number}")
        with s3_errors(key, self.bucket):
            reply = self._client.upload_part(
                Bucket=self.bucket, Key=self._name(key), UploadId=upload_id, PartNumber=part_number, Body=data
            )
        return Part(number=part_number, etag=reply["ETag"].strip('"'), size=len(data))

    def list_parts(self, key: str, upload_id: str) -> list[Part]:
        paginator = self._client.get_paginator("list_parts")
        parts: list[Part] = []
        with s3_errors(key, self.bucket):
            for page in paginator.paginate(Bucket=self.bucket, Key=self._name(key), UploadId=upload_id):
                parts.extend(
                    Part(number=p["PartNumber"], etag=p["ETag"].strip('"'), size=p["Size"])
                    for p in page.get("Parts", [])
                )
        return sorted(parts, key=lambda part: part.number)

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[Part]) -> None:
        if not parts:
            raise InvalidMultipart("a multipart upload needs at least one part")
        listed = [{"PartNumber": p.number, "ETag": f'"{p.etag.strip(chr(34))}"'} for p in parts]
        with s3_errors(key, self.bucket):
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=self._name(key), UploadId=upload_id, MultipartUpload={"Parts": listed}
            )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with s3_errors(key, self.bucket):
            try:
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self._name(key), UploadId=upload_id
                )
            except self._client.exceptions.NoSuchUpload:
                pass
