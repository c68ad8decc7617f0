"""The one Annex B splitter and the H.264 form conversions around it, edge case by edge case
(3- and 4-byte start codes: ``test_annexb_to_mp4_sample_and_avcc``)."""

from __future__ import annotations

import pytest

from pipelines.errors import BadBitstream
from pipelines.h264 import avcc_record, length_prefixed, parse_avcc, split_annexb, to_annexb

SPS, PPS, AUD = b"\x67\x64\x00\x1f\xac", b"\x68\xee\x3c\x80", b"\x09\xf0"
IDR, SLICE = b"\x65\x88\x84\x21", b"\x41\x9a\x02"


def test_trailing_zero_bytes_belong_to_no_unit() -> None:
    # Any run of trailing_zero_8bits before a start code, and zeros at the very end.
    stream = (
        b"\x00\x00\x01" + SPS + bytes(5) + b"\x00\x00\x01" + PPS + b"\x00" + b"\x00\x00\x01" + IDR + bytes(3)
    )
    assert split_annexb(stream) == [SPS, PPS, IDR]


def test_emulation_prevention_is_no_start_code() -> None:
    escaped = b"\x65\x00\x00\x03\x01\x00\x00\x03\x00\x80"
    assert split_annexb(b"\x00\x00\x00\x01" + escaped + b"\x00\x00\x01" + SLICE) == [escaped, SLICE]


def test_leading_bytes_empty_units_and_no_start_code() -> None:
    assert split_annexb(b"\xff\xfe" + b"\x00\x00\x01" + b"\x00\x00\x01" + AUD + b"\x00\x00\x00\x01") == [AUD]
    assert split_annexb(b"") == [] and split_annexb(SLICE) == []


def test_length_prefixed_leaves_parameter_sets_out_unless_asked() -> None:
    units = [AUD, SPS, PPS, IDR]
    assert length_prefixed(units) == b"\x00\x00\x00\x04" + IDR
    kept = length_prefixed(units, keep_parameter_sets=True)
    assert split_annexb(to_annexb(kept)) == units


def test_avcc_record_takes_the_first_usable_parameter_sets() -> None:
    record = avcc_record([b"\x67\x42", SPS, PPS, b"\x68\x00"])  # a 2-byte SPS has no profile: skipped
    config = parse_avcc(record)
    assert (config.length_size, config.sps, config.pps) == (4, (SPS,), (PPS,))
    assert record[1:4] == SPS[1:4]
    with pytest.raises(BadBitstream):
        avcc_record([SPS, IDR])
    with pytest.raises(ValueError):  # a BadBitstream is a ValueError too
        avcc_record([])


def test_annexb_to_mp4_sample_and_avcc() -> None:
    sps, pps, idr = b"\x67\x64\x00\x1f\xac", b"\x68\xee", b"\x65\x88\x84"
    stream = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x01" + pps + b"\x00\x00\x00\x01" + idr
    assert split_annexb(stream) == [sps, pps, idr]
    assert length_prefixed([sps, pps, idr]) == b"\x00\x00\x00\x03" + idr
    assert (
        avcc_record([sps, pps]) == bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 5]) + sps + b"\x01\x00\x02" + pps
    )
    with pytest.raises(ValueError):
        avcc_record([idr])
