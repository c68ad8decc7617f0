"""The Content-ID benchmark: a quick smoke run without peers, and its scoring helpers."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import numpy as np
import pytest
from support.services import service_missing

from benchmarks import contentid
from benchmarks._common import BenchError
from benchmarks._contentid_data import DEGRADATIONS, QuerySpec, Track, fetch_package
from benchmarks._contentid_peers import PeerAnswer, fpcalc_identify, similarity
from benchmarks._contentid_video import EDITS


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _spec(name: str, reference: int, degradation: str = "clean", speed: float = 1.0) -> QuerySpec:
    source = "negative.ogg" if reference < 0 else f"track{reference}.ogg"
    return QuerySpec(name, reference, degradation, 10.0, 30.0, 0.0, speed, Path(name + ".wav"), source)


def test_score_counts_identity_offset_and_false_positives() -> None:
    specs = [
        _spec("a", 0),
        _spec("b", 1),
        _spec("c", 1, "speed+3", 1.03),
        _spec("n", -1),
    ]
    answers = {
        "a": PeerAnswer(0, 2.0, 32.4),  # right reference, offset off by 0.4 s
        "b": PeerAnswer(1, 0.0, 35.0),  # right reference, offset off by 5 s
        "c": PeerAnswer(1, 10.0, 30.0 + 10.3 + 0.9),  # speed-corrected truth 40.3 s
        "n": PeerAnswer(3, 0.0, 1.0),  # a negative that matched: a false positive
    }
    scored = contentid.audio.score(specs, answers)
    clean = scored["accuracy"]["clean"]["10s"]
    assert (clean["queries"], clean["correct"], clean["offset_ok"]) == (2, 2, 1)
    assert clean["top1"] == 1.0 and clean["offset_accuracy"] == 0.5
    assert scored["accuracy"]["speed+3"]["10s"]["offset_ok"] == 1
    assert scored["negatives"]["10s"] == {
        "queries": 1,
        "false_positives": 1,
        "matched": [{"query": "negative.ogg", "reference": 3}],
        "false_positive_rate": 1.0,
    }
    missing = contentid.audio.score(specs[:1], {})
    assert missing["accuracy"]["clean"]["10s"]["correct"] == 0


def test_fpcalc_similarity_finds_the_shifted_copy() -> None:
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 2**32, size=400, dtype=np.uint64).astype(np.uint32)
    other = rng.integers(0, 2**32, size=400, dtype=np.uint64).astype(np.uint32)
    assert similarity(ref, ref) == 1.0
    query = ref[5:205].copy()
    query[::4] ^= np.uint32(0x0F0F)  # some bit errors
    assert similarity(query, ref) > 0.9
    assert 0.4 < similarity(other[:200], ref) < 0.6
    assert fpcalc_identify(query, [other, ref]) == (1, pytest.approx(similarity(query, ref)))
    assert fpcalc_identify(other[:200], [ref])[0] is None


def test_quick_run_without_peers_writes_json_and_png(tmp_path: Path) -> None:
    try:
        fetch_package("asc-music")
    except BenchError as exc:
        service_missing(f"Debian music for the benchmark ({exc})")
    cpu_before = _cpu_seconds()
    assert contentid.main(["--quick", "--no-peers"], tmp_path) == 0
    # CPU seconds, this process and its ffmpeg/scale children: the shared test machine's wall
    # clock depends on its load, the work does not.
    assert _cpu_seconds() - cpu_before < 40
    result = json.loads((tmp_path / "contentid.json").read_text())
    ours = result["audio"]["ours"]
    assert set(ours["accuracy"]) == set(DEGRADATIONS)
    for by_length in ours["accuracy"].values():
        assert by_length["10s"]["queries"] == 1 and 0.0 <= by_length["10s"]["top1"] <= 1.0
    assert ours["accuracy"]["clean"]["10s"]["top1"] == 1.0  # a clean 10 s excerpt is always found
    assert ours["negatives"]["10s"]["queries"] == 1
    assert len(result["data"]["reference_files"]) == 2 and len(result["data"]["negative_files"]) == 1
    assert ours["ingest"]["audio_seconds"] == pytest.approx(2 * 45.0, abs=0.1)
    assert ours["ingest"]["realtime_per_core"] > 1 and ours["query"]["queries"] == len(DEGRADATIONS) + 1
    assert result["audio"]["audfprint"] == {"skipped": "--no-peers"}
    assert result["whole_file"]["fpcalc"] == {"skipped": "--no-peers"}
    assert set(result["whole_file"]["ours"]["accuracy"]) >= {"clean", "noise10", "aac64"}
    assert set(result["video"]["ours"]["per_edit"]) == {*EDITS, "negative"}
    assert result["video"]["vpdq"] == {"skipped": "--no-peers"}
    point = result["scale"]["points"][0]
    assert point["hours"] == 0.1 and point["postings"] > 0.1 * 3600 * 100
    assert point["all_speeds"]["positive_matches"] >= 1 and point["all_speeds"]["negative_matches"] == 0
    # The accuracy queries are answered again against the scale index (with synthetic references).
    assert point["accuracy"]["accuracy"]["clean"]["10s"]["correct"] == 1
    assert point["accuracy"]["negatives"]["10s"]["queries"] == 1
    assert "video false positives on negatives" in [t["name"] for t in result["targets"]]
    names = [t["name"] for t in result["targets"]]
    assert "top-1, 10 s at 10 dB SNR" in names and "10 s query vs 1,000 h" in names
    assert all(t["pass"] in (True, False, None) for t in result["targets"])
    png = (tmp_path / "contentid.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_a_negative_that_holds_a_references_music_is_not_used() -> None:
    names = [f"t{i}.ogg" for i in range(10)]
    names[2], names[4] = "shallow-green.ogg", "call_of_the_winding_path.ogg"
    tracks = [Track(Path(name), 60.0) for name in names]
    refs, negs = contentid._split(tracks, 5, None)
    assert [t.path.name for t in negs] == ["t9.ogg"]
    assert "shallow-green.ogg" in {t.path.name for t in refs} and tracks[4] not in refs


def test_waveform_agreement_tells_a_shared_recording_from_a_lookalike(tmp_path: Path) -> None:
    from scipy.io import wavfile

    from benchmarks._contentid_data import waveform_agreement

    rng = np.random.default_rng(7)
    rate, seconds = 8000, 6
    layer = rng.standard_normal(rate * seconds).astype(np.float32)
    # Same layer under other music at a 2 s offset; a lookalike has the same spectrum, other samples.
    mine = layer + 2 * rng.standard_normal(len(layer)).astype(np.float32)
    theirs = np.concatenate([rng.standard_normal(2 * rate), layer]).astype(np.float32)
    lookalike = rng.standard_normal(len(theirs)).astype(np.float32)
    for name, x in (("mine", mine), ("theirs", theirs), ("lookalike", lookalike)):
        wavfile.write(tmp_path / f"{name}.wav", rate, 0.1 * x)
    shared = waveform_agreement(tmp_path / "mine.wav", 0.0, tmp_path / "theirs.wav", 2.0, 5.0)
    other = waveform_agreement(tmp_path / "mine.wav", 0.0, tmp_path / "lookalike.wav", 2.0, 5.0)
    assert len(shared) == len(other) == 5
    assert min(shared) > 0.3 and max(other) < 0.1
