"""Video matches are verified by centre hashes: lookalike textures never match, copies still do.

The lookalikes are ffmpeg's blurred cellular automata: rules that shift a random row (170, 80,
215, 190, 210) all draw random diagonal stripes, and their 64-bit frame hashes stay within the
match radius of one another over whole runs. Without the centre-hash check every one of them
below matched the reference; with it none does.
"""

from __future__ import annotations

import io
from pathlib import Path

import faiss
import numpy as np
import pytest

from fingerprint import (
    FrameHashes,
    InvalidFingerprint,
    Matcher,
    MediaFingerprint,
    VideoIndex,
    fingerprint_file,
)
from fingerprint.video_index import FRAME_BITS

START, LENGTH = 7.3, 10.0
STRIPES = "cellauto=s=320x240:rule={rule}:seed={seed}:rate=15:scroll=1,gblur=sigma=2"
BLOBS = "life=s=320x240:seed={seed}:ratio=0.3:mold=12:rate=15,gblur=sigma=3"
LOOKALIKES = [
    STRIPES.format(rule=170, seed=37),
    STRIPES.format(rule=80, seed=31),
    STRIPES.format(rule=215, seed=40),
    STRIPES.format(rule=190, seed=25),
    STRIPES.format(rule=170, seed=5),
    STRIPES.format(rule=210, seed=99),
    BLOBS.format(seed=41),
    BLOBS.format(seed=77),
]
COPIES = {
    "hflip-crop": "hflip,crop=iw*0.9:ih*0.9,scale=320:240",
    "rescale": "scale=160:120",
    "letterbox": "scale=320:180,pad=320:240:0:30",
}


def _render(kit, graph: str, seconds: float, path: Path, vf: str = "null") -> Path:
    kit.ffmpeg(
        "-f", "lavfi", "-i", graph, "-t", seconds, "-vf", vf,
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", path,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def textures(kit, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fingerprint-video-verify")
    out = {
        "stripes": _render(kit, STRIPES.format(rule=210, seed=13), 30.0, folder / "stripes.mp4"),
        "blobs": _render(kit, BLOBS.format(seed=5), 30.0, folder / "blobs.mp4"),
    }
    for i, graph in enumerate(LOOKALIKES):
        out[f"lookalike{i}"] = _render(kit, graph, 12.0, folder / f"lookalike{i}.mp4")
        out[f"lookalike{i}-flipped"] = _render(kit, graph, 12.0, folder / f"flipped{i}.mp4", "hflip")
    for name, vf in COPIES.items():
        out[name] = folder / f"{name}.mp4"
        kit.ffmpeg(
            "-ss", START, "-t", LENGTH, "-i", out["stripes"], "-vf", vf, "-c:v", "libx264", out[name]
        )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def matcher(textures: dict[str, Path]) -> Matcher:
    index = VideoIndex()
    for ref_id, name in enumerate(("stripes", "blobs")):
        frames = fingerprint_file(textures[name]).frames
        assert frames is not None and frames.centre is not None
        index.add(ref_id, frames)
    return Matcher(None, index)


@pytest.mark.parametrize("which", range(len(LOOKALIKES)))
@pytest.mark.parametrize("flipped", [False, True])
def test_lookalike_textures_never_match(matcher: Matcher, textures, which: int, flipped: bool):
    name = f"lookalike{which}" + ("-flipped" if flipped else "")
    assert matcher.match(fingerprint_file(textures[name])) == []


@pytest.mark.parametrize("edit", sorted(COPIES))
def test_edited_copy_of_the_stripes_is_found_at_its_offset(matcher: Matcher, textures, edit: str):
    found = matcher.match(fingerprint_file(textures[edit]))
    assert [m.reference_id for m in found] == [0], found
    assert abs(found[0].reference_start - found[0].query_start - START) <= 1.0, found
    assert found[0].duration >= LENGTH - 1.0, found


def test_without_centre_hashes_the_lookalikes_match(matcher: Matcher, textures):
    """The check is what rejects them: a query fingerprint made before centre hashes existed is
    matched as before, and the stripes then find the reference."""
    frames = fingerprint_file(textures["lookalike0"]).frames
    assert frames is not None
    old = FrameHashes(frames.hashes, frames.flipped, frames.times, frames.masked)
    assert [m.reference_id for m in matcher.match(MediaFingerprint(None, old, 12.0))] == [0]


def _frames(seed: int, n: int, centres: bool = True) -> FrameHashes:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, (n, 8)).astype(np.uint8)
    centre = rng.integers(0, 256, (n, 8)).astype(np.uint8) if centres else None
    return FrameHashes(
        hashes,
        hashes[:, ::-1].copy(),
        np.arange(n) * 0.5,
        None,
        centre,
        None if centre is None else centre[:, ::-1],
    )


def test_hits_carry_the_centre_hashes_through_save_and_load():
    index = VideoIndex()
    a, b = _frames(1, 20), _frames(2, 30, centres=False)
    index.add(3, a)
    index.add(9, b)
    loaded = VideoIndex.from_bytes(index.to_bytes())
    for idx in (index, loaded):
        hits = idx.query(np.concatenate([a.hashes[[4]], b.hashes[[6]]]), np.array([1.0, 2.0]), radius=0)
        assert hits.ref_ids.tolist() == [3, 9]
        assert hits.verifiable.tolist() == [True, False]
        assert np.array_equal(hits.ref_centres[0], a.centre[4]) and not hits.ref_centres[1].any()
    assert loaded.remove(3) and loaded.query(a.hashes[[4]], np.array([1.0]), radius=0).ref_ids.tolist() == []


def test_format_1_indexes_still_load_with_references_unverified():
    frames = _frames(3, 12)
    flat = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(64))
    flat.add_with_ids(frames.hashes, (np.int64(5) << FRAME_BITS) + np.arange(12, dtype=np.int64))
    buf = io.BytesIO()
    np.savez(
        buf,
        version=np.array([1]),
        faiss=faiss.serialize_index_binary(flat),
        refs=np.array([5], np.int64),
        counts=np.array([12], np.int64),
        times=frames.times,
    )
    loaded = VideoIndex.from_bytes(buf.getvalue())
    hits = loaded.query(frames.hashes[[2]], np.array([0.0]), radius=0)
    assert hits.ref_ids.tolist() == [5] and hits.ref_times.tolist() == [1.0]
    assert hits.verifiable.tolist() == [False]


def test_centre_hashes_must_come_with_their_flipped_forms():
    frames = _frames(4, 5)
    with pytest.raises(InvalidFingerprint):
        FrameHashes(frames.hashes, frames.flipped, frames.times, None, frames.centre, None)
    with pytest.raises(InvalidFingerprint):
        FrameHashes(frames.hashes, frames.flipped, frames.times, None, frames.centre[:3], frames.centre[:3])
