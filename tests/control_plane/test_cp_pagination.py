"""The cursor helper: cursors round-trip their keyset (datetimes included) and anything else a
client sends as a cursor is refused with 400, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from control_plane.core.errors import BadRequest
from control_plane.http.pagination import decode_cursor, encode_cursor


def test_a_cursor_round_trips() -> None:
    keyset = [datetime(2026, 12, 10, 8, 30, 1, 123456, tzinfo=UTC), 0.759908854961395, 7, "abc", None]
    assert decode_cursor(encode_cursor(keyset), 5) == keyset


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", encode_cursor([1]), "eyJhIjogMX0", "W10"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(cursor, 2)
    assert caught.value.code == "INVALID_CURSOR"
