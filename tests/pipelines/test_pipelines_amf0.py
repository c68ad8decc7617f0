"""AMF0 round trips (hypothesis), known byte layouts, and hostile inputs."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.amf0 import MAX_DEPTH, UNDEFINED, EcmaArray, decode, decode_one, encode
from pipelines.errors import AmfError

dates = st.integers(min_value=-(10**12), max_value=10**13).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)
scalars = st.one_of(
    st.none(),
    st.just(UNDEFINED),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    dates,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(max_size=10), inner, max_size=5),
        st.dictionaries(st.text(max_size=10), inner, max_size=5).map(EcmaArray),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(values, max_size=4))
def test_round_trip(items: list[Any]) -> None:
    decoded = decode(encode(*items))
    assert decoded == items
    for got, sent in zip(decoded, items, strict=True):
        assert type(got) is type(sent) or isinstance(sent, list)


def test_known_layout_of_a_connect_command() -> None:
    data = encode("connect", 1, {"app": "live"})
    assert data == (
        b"\x02\x00\x07connect"
        + b"\x00"
        + struct.pack(">d", 1.0)
        + b"\x03\x00\x03app\x02\x00\x04live\x00\x00\x09"
    )


def test_long_string_and_ecma_array_markers() -> None:
    long = "x" * 70000
    assert encode(long)[0] == 0x0C
    assert decode(encode(long)) == [long]
    meta = EcmaArray(width=320.0, height=240.0)
    raw = encode(meta)
    assert raw[0] == 0x08 and struct.unpack(">I", raw[1:5])[0] == 2
    assert isinstance(decode(raw)[0], EcmaArray)


def test_date_keeps_milliseconds() -> None:
    when = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
    assert decode(encode(when)) == [when]
    with pytest.raises(AmfError):
        encode(datetime(2024, 5, 1))


def test_decode_one_returns_the_next_offset() -> None:
    data = encode("a", 2.5)
    value, offset = decode_one(data)
    assert value == "a" and offset == 4
    assert decode_one(data, offset) == (2.5, len(data))


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x01\x02",  # truncated number
        b"\x02\x00\x10abc",  # string longer than its bytes
        b"\x0c\xff\xff\xff\xffabc",  # long string claiming 4 GiB
        b"\x0a\xff\xff\xff\xff\x05",  # strict array claiming 4 billion items
        b"\x08\xff\xff\xff\xff\x00\x01a\x05",  # ECMA array without an end marker
        b"\x03\x00\x01a",  # object truncated after a key
        b"\x09",  # object end outside an object
        b"\x07\x00\x01",  # reference: unsupported
        b"\x11\x02",  # AMF3 switch: unsupported
        b"\x02\x00\x02\xff\xfe",  # invalid UTF-8
        b"\x0b" + struct.pack(">d", 1e300) + b"\x00\x00",  # date out of range
    ],
)
def test_hostile_inputs_raise_amf_error(payload: bytes) -> None:
    with pytest.raises(AmfError):
        decode(payload)


def test_nesting_is_bounded() -> None:
    deep = b"\x0a\x00\x00\x00\x01" * (MAX_DEPTH + 5) + b"\x05"
    with pytest.raises(AmfError, match="nesting"):
        decode(deep)
    nested: list[Any] = []
    for _ in range(MAX_DEPTH + 5):
        nested = [nested]
    with pytest.raises(AmfError):
        encode(nested)
