"""Multipart uploads emulated on local disk, for ``LocalStore``.

An upload is the folder ``<root>/.sf-multipart/<upload id>/`` holding ``key`` (the target key)
and one ``NNNNN.part`` file per part. Completing concatenates the parts into a temporary file
that is renamed over the target, so the blob appears at once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

from ..base import CHUNK_SIZE, MultipartCapable, Part
from ..errors import InvalidMultipart, MultipartNotFound

__all__ = ["LocalMultipart"]

MAX_PARTS = 10000


class LocalMultipart(MultipartCapable):
    """The multipart capability over a folder of part files; parts may be of any size."""

    _parts_root: Path
    _tmp: Path

    @abstractmethod
    def path(self, key: str) -> Path:
        """The file of ``key``; validates the key."""

    @abstractmethod
    def _commit(self, tmp: Path, target: Path) -> None:
        """Rename a finished temporary file over ``target``."""

    def _upload_dir(self, key: str, upload_id: str) -> Path:
        self.path(key)
        try:
            uuid.UUID(hex=upload_id)
        except (ValueError, TypeError) as exc:
            raise MultipartNotFound(f"no multipart upload {upload_id!r}") from exc
        folder = self._parts_root / upload_id
        try:
            owner = (folder / "key").read_text("utf-8")
        except FileNotFoundError as exc:
            raise MultipartNotFound(f"no multipart upload {upload_id!r}") from exc
        if owner != key:
            raise MultipartNotFound(f"multipart upload {upload_id!r} is not for key {key!r}")
        return folder

    def create_multipart(self, key: str) -> str:
        self.path(key)
        upload_id = uuid.uuid4().hex
        folder = self._parts_root / upload_id
        folder.mkdir(parents=True)
        (folder / "key").write_text(key, "utf-8")
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> Part:
        folder = self._upload_dir(key, upload_id)
        if not 1 <= part_number <= MAX_PARTS:
            raise InvalidMultipart(f"part number must be 1..{MAX_PARTS}, got {part_number}")
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        target = folder / f"{part_number:05d}.part"
        os.replace(tmp, target)
        return _part(target)

    def list_parts(self, key: str, upload_id: str) -> list[Part]:
        folder = self._upload_dir(key, upload_id)
        return [_part(path) for path in sorted(folder.glob("*.part"))]

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[Part]) -> None:
        folder = self._upload_dir(key, upload_id)
        if not parts:
            raise InvalidMultipart("a multipart upload needs at least one part")
        stored = {part.number: part for part in self.list_parts(key, upload_id)}
        previous = 0
        for part in parts:
            if part.number <= previous:
                raise InvalidMultipart("parts must be listed in ascending order without repeats")
            previous = part.number
            found = stored.get(part.number)
            if found is None or found.etag != part.etag:
                raise InvalidMultipart(f"part {part.number} was not uploaded with etag {part.etag}")
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(folder / f"{part.number:05d}.part", "rb") as source:
                        shutil.copyfileobj(source, out, CHUNK_SIZE)
                out.flush()
                os.fsync(out.fileno())
            self._commit(Path(tmp), self.path(key))
        finally:
            Path(tmp).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            folder = self._upload_dir(key, upload_id)
        except MultipartNotFound:
            return
        shutil.rmtree(folder, ignore_errors=True)


def _part(path: Path) -> Part:
    """A part file as a ``Part``; its etag changes whenever the file is replaced (new inode)."""
    st = path.stat()
    return Part(
        number=int(path.stem), etag=f"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}", size=st.st_size
    )
