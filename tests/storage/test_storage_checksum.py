"""spool_verified: checksum-verified chunks for the tus checksum extension."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from storage import ChecksumMismatch, LocalStore, UnsupportedChecksum
from storage.uploads import CHECKSUM_ALGORITHMS, spool_verified, upload_store_for

BODY = b"0123456789" * 150_000  # 1.5 MB: spills from memory to disk


@pytest.mark.parametrize("algorithm", CHECKSUM_ALGORITHMS)
def test_matching_checksum_returns_the_bytes(algorithm: str, tmp_path: Path) -> None:
    expected = hashlib.new(algorithm, BODY).digest()
    spooled = spool_verified(
        io.BytesIO(BODY), algorithm=algorithm, expected=expected, max_bytes=len(BODY), spool_dir=tmp_path
    )
    with spooled:
        assert spooled.read() == BODY


def test_max_bytes_cuts_the_body() -> None:
    expected = hashlib.sha1(BODY[:100]).digest()
    with spool_verified(io.BytesIO(BODY), algorithm="sha1", expected=expected, max_bytes=100) as spooled:
        assert spooled.read() == BODY[:100]


def test_mismatch_stores_nothing(tmp_path: Path) -> None:
    uploads = upload_store_for(LocalStore(tmp_path, b"secret"))
    uploads.create("chk", len(BODY), {}, expires_at=None)
    wrong = hashlib.sha256(BODY + b"!").digest()
    with pytest.raises(ChecksumMismatch) as caught:
        spool_verified(io.BytesIO(BODY), algorithm="sha256", expected=wrong, max_bytes=len(BODY))
    assert (caught.value.status, caught.value.code) == (460, "CHECKSUM_MISMATCH")
    assert uploads.info("chk").offset == 0
    right = hashlib.sha256(BODY).digest()
    with spool_verified(io.BytesIO(BODY), algorithm="sha256", expected=right, max_bytes=len(BODY)) as spooled:
        assert uploads.write("chk", 0, spooled, max_bytes=len(BODY)) == len(BODY)


def test_unknown_algorithm_refused() -> None:
    with pytest.raises(UnsupportedChecksum) as caught:
        spool_verified(io.BytesIO(b"x"), algorithm="crc32", expected=b"", max_bytes=1)
    assert caught.value.status == 400
