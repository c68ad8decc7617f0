"""Blobs as files under one root folder (the embedded default).

Layout: a blob ``a/b.mp4`` is the file ``<root>/a/b.mp4``, so a web server can map ``/blobs/`` onto
the root. Folders whose names start with ``.sf-`` hold the store's own temporary and multipart
files and are refused as keys. A key cannot be both a blob and a folder of other blobs (``a`` and
``a/b``): the second put raises ``InvalidKey``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ..base import CHUNK_SIZE, AppendCapable, BlobInfo, BlobStore, check_range
from ..errors import BlobNotFound, InvalidKey, OffsetMismatch, StorageUnavailable
from ..keys import validate_key, validate_prefix
from ..signing import signed_blob_url, verify_signature
from .local_parts import LocalMultipart
from .streams import iter_chunks

__all__ = ["LocalStore"]

log = logging.getLogger(__name__)

RESERVED = ".sf-"


class LocalStore(BlobStore, LocalMultipart, AppendCapable):
    """Files under ``root``; ``secret`` signs the URLs that ``signed_url`` hands out."""

    def __init__(self, root: str | os.PathLike[str], secret: bytes) -> None:
        if not secret:
            raise ValueError("LocalStore needs a non-empty secret to sign URLs")
        self.root = Path(root).resolve()
        self.secret = secret
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / f"{RESERVED}tmp"
        self._tmp.mkdir(exist_ok=True)
        self._parts_root = self.root / f"{RESERVED}multipart"

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file that holds ``key`` (it may not exist); raises ``InvalidKey``."""
        validate_key(key)
        if key.startswith(RESERVED):
            raise InvalidKey(f"key {key!r} starts with the reserved prefix {RESERVED!r}")
        return self.root / key

    def _commit(self, tmp: Path, target: Path, durable: bool = True) -> None:
        """Move a finished temporary file into place, creating parent folders."""
        for _ in range(3):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir():
                    raise InvalidKey(f"{target.relative_to(self.root)} is a folder of other blobs")
                os.replace(tmp, target)
                if durable:
                    _fsync_dir(target.parent)
                return
            except FileNotFoundError:
                continue  # a concurrent delete pruned the parent folder; make it again
            except (NotADirectoryError, FileExistsError) as exc:
                raise InvalidKey(f"a parent of {target.relative_to(self.root)} is a blob") from exc
        raise StorageUnavailable(f"could not place {target}")

    def _write_temp(self, data: bytes | BinaryIO, durable: bool = True) -> tuple[Path, int]:
        fd, name = tempfile.mkstemp(dir=self._tmp)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in iter_chunks(data):
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name), written

    def put(
        self, key: str, data: bytes | BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """Write to a temporary file, fsync (when ``durable``), then rename over the key.
        ``content_type`` is not kept."""
        target = self.path(key)
        tmp, written = self._write_temp(data, durable)
        try:
            self._commit(tmp, target, durable)
        finally:
            tmp.unlink(missing_ok=True)
        return written

    def open(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        check_range(offset, length)
        try:
            handle = open(self.path(key), "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(f"no blob {key!r}") from exc
        return self._chunks(handle, offset, length)

    @staticmethod
    def _chunks(handle: BinaryIO, offset: int, length: int | None) -> Iterator[bytes]:
        with handle:
            handle.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = handle.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def _info(self, key: str, path: Path) -> BlobInfo:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise BlobNotFound(f"no blob {key!r}") from exc
        if not path.is_file():
            raise BlobNotFound(f"no blob {key!r} ({key!r} is a folder)")
        return BlobInfo(
            key=key,
            size=st.st_size,
            etag=f"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}",
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def stat(self, key: str) -> BlobInfo:
        return self._info(key, self.path(key))

    def delete(self, key: str) -> None:
        """Remove the file and any parent folders it leaves empty."""
        path = self.path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        except IsADirectoryError:
            return
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        validate_prefix(prefix)
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        keys: list[str] = []
        for folder, dirs, files in os.walk(base):
            rel = Path(folder).relative_to(self.root).as_posix()
            if rel == ".":
                dirs[:] = [d for d in dirs if not d.startswith(RESERVED)]
                rel = ""
            keys.extend(k for k in (f"{rel}/{f}" if rel else f for f in files) if k.startswith(prefix))
        for key in sorted(keys):
            try:
                yield self._info(key, self.root / key)
            except BlobNotFound:
                continue  # deleted while listing

    def signed_url(self, key: str, expires_in: int, *, public_base: str | None = None) -> str:
        """``{public_base}/blobs/{key}?expires=<unix s>&signature=<hex HMAC-SHA256>``."""
        return signed_blob_url(self.secret, key, expires_in, public_base, time.time())

    def verify_signature(self, key: str, expires: int | str, signature: str) -> None:
        """Check a URL made by ``signed_url``; raises ``SignatureInvalid`` if forged or expired."""
        verify_signature(self.secret, key, expires, signature)

    def ping(self) -> None:
        if not (self.root.is_dir() and os.access(self.root, os.W_OK)):
            raise StorageUnavailable(f"storage root {self.root} is missing or not writable")

    def size(self, key: str) -> int:
        return self.stat(key).size

    def append(self, key: str, data: BinaryIO | bytes, *, expected_offset: int) -> int:
        path = self.path(key)
        if expected_offset == 0:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise InvalidKey(f"a parent of {key!r} is a blob") from exc
        try:
            out = open(path, "ab" if expected_offset == 0 else "r+b")  # noqa: SIM115
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise BlobNotFound(f"no blob {key!r} to append to") from exc
        with out:
            actual = os.fstat(out.fileno()).st_size
            if actual != expected_offset:
                raise OffsetMismatch(
                    f"blob {key!r} has {actual} bytes, not {expected_offset}",
                    expected=expected_offset,
                    actual=actual,
                )
            if actual == 0:
                _fsync_dir(path.parent)  # a new file's name must survive a crash too
            out.seek(actual)
            behind = WriteBehind(out.fileno(), actual)
            try:
                for chunk in iter_chunks(data):
                    out.write(chunk)
                    out.flush()
                    behind.wrote(len(chunk))
            finally:
                out.flush()
                os.fsync(out.fileno())
            return out.tell()


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Bytes written before their writeback is started (see ``WriteBehind``).
WRITE_BEHIND_BYTES = 1024 * 1024
# Linux only, and missing from typeshed: looked up, not imported.
_sync_file_range: Callable[[int, int, int, int], None] | None = getattr(os, "sync_file_range", None)
_SYNC_FILE_RANGE_WRITE: int = getattr(os, "SYNC_FILE_RANGE_WRITE", 2)


class WriteBehind:
    """Starts the kernel's writeback of each megabyte as soon as it is written, so the disk works
    while the rest of the body arrives and the fsync that ends an append finds little left to
    write (Linux ``sync_file_range``; elsewhere a no-op). Durability still comes from that fsync:
    ``SYNC_FILE_RANGE_WRITE`` only starts writing and promises nothing."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd, self.start, self.end = fd, offset, offset

    def wrote(self, n: int) -> None:
        self.end += n
        if _sync_file_range is not None and self.end - self.start >= WRITE_BEHIND_BYTES:
            _sync_file_range(self.fd, self.start, self.end - self.start, _SYNC_FILE_RANGE_WRITE)
            self.start = self.end
