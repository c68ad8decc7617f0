"""LocalStore specifics: signed URLs, the on-disk layout and its conflicts."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from storage import InvalidKey, LocalStore, SignatureInvalid, verify_signature

SECRET = b"local-test-secret"


def _parse(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return unquote(parts.path.removeprefix("/blobs/")), query["expires"][0], query["signature"][0]


def test_signed_url_verifies(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, SECRET)
    store.put("v/1/seg 0.ts", b"x")
    url = store.signed_url("v/1/seg 0.ts", 30)
    assert url.startswith("/blobs/v/1/seg%200.ts?expires=")
    key, expires, signature = _parse(url)
    assert key == "v/1/seg 0.ts" and abs(int(expires) - (time.time() + 30)) < 5
    store.verify_signature(key, expires, signature)
    verify_signature(SECRET, key, int(expires), signature)


def test_tampered_signed_urls_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, SECRET)
    key, expires, signature = _parse(store.signed_url("v/1/a.ts", 30, public_base="http://x:8000/"))
    cases = [
        ("v/1/b.ts", expires, signature),
        (key, str(int(expires) + 1000), signature),
        (key, expires, signature[:-1] + ("0" if signature[-1] != "0" else "1")),
        (key, expires, ""),
        (key, "soon", signature),
    ]
    for bad_key, bad_expires, bad_signature in cases:
        with pytest.raises(SignatureInvalid) as caught:
            store.verify_signature(bad_key, bad_expires, bad_signature)
        assert caught.value.status == 403 and caught.value.code == "SIGNATURE_INVALID"
    with pytest.raises(SignatureInvalid):
        LocalStore(tmp_path, b"other-secret").verify_signature(key, expires, signature)


def test_expired_signed_url_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, SECRET)
    key, expires, signature = _parse(store.signed_url("a", 1))
    verify_signature(SECRET, key, expires, signature, now=int(expires))
    with pytest.raises(SignatureInvalid, match="expired"):
        verify_signature(SECRET, key, expires, signature, now=int(expires) + 1)


def test_layout_is_plain_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, SECRET)
    store.put("videos/v1/master.m3u8", b"#EXTM3U\n")
    assert (tmp_path / "videos" / "v1" / "master.m3u8").read_bytes() == b"#EXTM3U\n"
    store.delete("videos/v1/master.m3u8")
    assert not (tmp_path / "videos").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sf-tmp"]


def test_reserved_and_conflicting_keys(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, SECRET)
    with pytest.raises(InvalidKey):
        store.put(".sf-tmp/x", b"1")
    store.put("a", b"1")
    with pytest.raises(InvalidKey):
        store.put("a/b", b"2")
    store.put("c/d", b"3")
    with pytest.raises(InvalidKey):
        store.put("c", b"4")
    with pytest.raises(InvalidKey):
        store.append("a/log", b"x", expected_offset=0)
    assert [i.key for i in store.list()] == ["a", "c/d"]
    assert not any((tmp_path / ".sf-tmp").iterdir())


def test_secret_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalStore(tmp_path, b"")


def test_append_keeps_bytes_read_before_a_failure(tmp_path: Path) -> None:
    class Broken(io.BytesIO):
        """Gives four bytes, then fails like a dropped connection."""

        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell() > 0:
                raise ConnectionResetError("client went away")
            return super().read(4)

    appender = LocalStore(tmp_path, SECRET)
    with pytest.raises(ConnectionResetError):
        appender.append("logs/b", Broken(b"abcdefgh"), expected_offset=0)
    assert appender.size("logs/b") == 4
