"""Parsing and writing the tus 1.0 headers: Upload-Metadata, Upload-Checksum, Upload-Concat."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from control_plane.uploads.errors import ChecksumUnsupported, InvalidMetadata
from storage.uploads import CHECKSUM_ALGORITHMS

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "Checksum",
    "parse_metadata",
    "encode_metadata",
    "parse_checksum",
    "parse_concat",
    "http_date",
    "sanitize_filename",
]

MAX_METADATA_PAIRS = 32
MAX_METADATA_VALUE = 4096  # bytes, decoded
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def parse_metadata(header: str | None) -> dict[str, str]:
    """``key base64value`` pairs separated by commas; a key alone means an empty value."""
    if not header or not header.strip():
        return {}
    result: dict[str, str] = {}
    pairs = header.split(",")
    if len(pairs) > MAX_METADATA_PAIRS:
        raise InvalidMetadata(f"Upload-Metadata has more than {MAX_METADATA_PAIRS} pairs.")
    for pair in pairs:
        parts = pair.strip().split(" ")
        key = parts[0]
        if not _KEY.match(key) or len(parts) > 2:
            raise InvalidMetadata(f"Upload-Metadata has a malformed pair {pair.strip()[:80]!r}.")
        if key in result:
            raise InvalidMetadata(f"Upload-Metadata repeats the key {key!r}.")
        value = b""
        if len(parts) == 2:
            try:
                value = base64.b64decode(parts[1], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidMetadata(f"Upload-Metadata value of {key!r} is not base64.") from exc
        if len(value) > MAX_METADATA_VALUE:
            raise InvalidMetadata(f"Upload-Metadata value of {key!r} is over {MAX_METADATA_VALUE} bytes.")
        try:
            result[key] = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidMetadata(f"Upload-Metadata value of {key!r} is not UTF-8 text.") from exc
    return result


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in metadata.items())


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def parse_checksum(header: str | None) -> Checksum | None:
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ChecksumUnsupported(
            f"Checksum algorithm {algorithm!r} is not one of {', '.join(CHECKSUM_ALGORITHMS)}."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ChecksumUnsupported("The Upload-Checksum value is not base64.") from exc
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise ChecksumUnsupported(f"The {algorithm} digest has the wrong length.")
    return Checksum(algorithm, digest)


def parse_concat(header: str | None) -> tuple[str, list[str]] | None:
    """None, ("partial", []) or ("final", [upload ids from the listed URLs])."""
    if header is None:
        return None
    value = header.strip()
    if value == "partial":
        return "partial", []
    if value.startswith("final;"):
        urls = value.removeprefix("final;").split()
        ids = [urlsplit(u).path.rstrip("/").rsplit("/", 1)[-1] for u in urls]
        if not ids or not all(ids):
            raise InvalidMetadata("Upload-Concat: final; must list the partial uploads' URLs.")
        return "final", ids
    raise InvalidMetadata("Upload-Concat must be 'partial' or 'final;<urls>'.")


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def sanitize_filename(name: str) -> str:
    """The last path component, printable, at most 255 characters; never empty."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".")
    return name[:255] or "upload"
