"""A local file opened for reading that counts the bytes read from it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

__all__ = ["CountingFile"]


class CountingFile(io.RawIOBase):
    """``path`` as a seekable binary file; ``bytes_read`` counts what every read returned."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.size = path.stat().st_size
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: Any) -> int:
        count = self._file.readinto(buffer)
        self.bytes_read += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()
