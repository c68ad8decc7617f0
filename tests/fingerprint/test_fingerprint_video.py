"""Video Content-ID: an excerpt of a generated H.264 video found after common edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fingerprint import (
    FrameHashes,
    InvalidFingerprint,
    Match,
    Matcher,
    MediaFingerprint,
    VideoIndex,
    fingerprint_file,
    hash_frames,
    sample_frames,
)
from fingerprint.video import content_box

START, LENGTH = 3.3, 9.0
EDITS = {
    "reencode": "scale=192:144",
    "rescale": "scale=320:240",
    "letterbox": "scale=192:108,pad=256:192:32:42",
    "crop10": "crop=iw*0.9:ih*0.9,scale=192:144",
    "brightness": "eq=brightness=0.12:contrast=1.3",
    "overlay": "drawbox=x=8:y=8:w=36:h=18:color=white@0.8:t=fill",
    "logo": "drawbox=x=iw-68:y=ih-36:w=58:h=26:color=white@0.85:t=fill",
    "hflip": "hflip",
}


@pytest.fixture(scope="module")
def videos(kit, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fingerprint-video")
    out = {
        "reference": kit.make_video(folder / "reference.mp4", seed=1, seconds=16.0),
        "second": kit.make_video(folder / "second.mp4", seed=2, seconds=10.0),
        "unrelated": kit.make_video(folder / "unrelated.mp4", seed=3, seconds=10.0),
    }
    for name, vf in EDITS.items():
        out[name] = folder / f"{name}.mp4"
        kit.ffmpeg(
            "-ss",
            START,
            "-t",
            LENGTH,
            "-i",
            out["reference"],
            "-vf",
            vf,
            "-c:v",
            "libx264",
            "-crf",
            "30",
            out[name],
        )
    still = folder / "still.png"
    kit.ffmpeg("-ss", "5.2", "-i", out["reference"], "-frames:v", "1", still)
    out["still"] = folder / "still.mp4"
    kit.ffmpeg(
        "-loop",
        "1",
        "-t",
        "9",
        "-i",
        still,
        "-r",
        "10",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        out["still"],
    )
    return out


@pytest.fixture(scope="module")
def video_matcher(videos: dict[str, Path]) -> Matcher:
    index = VideoIndex()
    index.add(0, hash_frames(sample_frames(videos["reference"])))
    index.add(1, hash_frames(sample_frames(videos["second"])))
    return Matcher(None, index)


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_excerpt_is_found(video_matcher: Matcher, videos, edit):
    found = video_matcher.match(fingerprint_file(videos[edit]))
    assert [m.reference_id for m in found] == [0], found
    match: Match = found[0]
    assert match.kind == "video"
    assert abs(match.query_start) <= 1.0 and abs(match.reference_start - START) <= 1.0, match
    assert abs(match.duration - LENGTH) <= 1.0, match


def test_still_of_one_frame_is_not_a_match(video_matcher: Matcher, videos):
    """Nine seconds of one reference frame: every query frame is similar, but never a sequence."""
    fp = fingerprint_file(videos["still"])
    assert fp.frames is not None and len(fp.frames) >= 17
    assert video_matcher.match(fp) == []


def test_unrelated_videos_never_match(video_matcher: Matcher, videos, kit, tmp_path: Path):
    """False positives over other generated scenes and ffmpeg's synthetic sources: none allowed."""
    queries = [videos["unrelated"]]
    queries += [
        kit.make_video(tmp_path / f"n{seed}.mp4", seed=seed, seconds=6.0) for seed in (21, 22, 23, 24)
    ]
    for source in (
        "testsrc2",
        "mandelbrot",
        "life=mold=10:ratio=0.3:death_color=#C83232",
        "cellauto=rule=110",
    ):
        path = tmp_path / f"{source.split('=')[0]}.mp4"
        graph = f"{source}{':' if '=' in source else '='}size=192x144:rate=10"
        kit.ffmpeg("-f", "lavfi", "-i", graph, "-t", "8", "-c:v", "libx264", "-pix_fmt", "yuv420p", path)
        queries.append(path)
    false = [(q.name, found) for q in queries if (found := video_matcher.match(fingerprint_file(q)))]
    assert false == []


def test_letterbox_is_cropped_exactly():
    frames = np.zeros((3, 90, 160), np.uint8)
    frames[:, 10:80, 20:140] = np.arange(120, dtype=np.uint8)[None, None, :] + 40
    assert content_box(frames) == (10, 80, 20, 140)


def test_dark_video_is_not_cropped_away():
    frames = np.full((2, 90, 160), 12, np.uint8)
    frames[:, 40:50, 70:90] = 200
    assert content_box(frames) == (0, 90, 0, 160)


def test_sampling_times_are_exact(kit, tmp_path: Path):
    """10 fps for 3 s sampled at 2 fps: 6 frames at 0.0, 0.5, ... 2.5 s, 128 px on the long side."""
    frames = sample_frames(kit.make_video(tmp_path / "v.mp4", seed=4, seconds=3.0), fps=2.0)
    assert np.allclose(frames.times, np.arange(6) * 0.5)
    assert frames.images.shape == (6, 96, 128) and frames.images.dtype == np.uint8


def test_flipped_hash_equals_hash_of_mirrored_frame(kit, tmp_path: Path):
    frames = sample_frames(kit.make_video(tmp_path / "v.mp4", seed=5, seconds=2.0))
    mirrored = type(frames)(np.ascontiguousarray(frames.images[:, :, ::-1]), frames.times)
    plain, flipped = hash_frames(frames), hash_frames(mirrored)
    assert np.array_equal(plain.flipped, flipped.hashes)
    assert np.array_equal(plain.hashes, flipped.flipped)


def test_masked_hashes_round_trip_and_old_fingerprints_still_load(videos):
    fp = fingerprint_file(videos["logo"])
    assert fp.frames is not None and fp.frames.masked is not None
    assert fp.frames.masked.shape == (len(fp.frames), 4, 8)
    again = MediaFingerprint.from_bytes(fp.to_bytes())
    assert again.frames is not None and np.array_equal(again.frames.masked, fp.frames.masked)
    old = MediaFingerprint(fp.peaks, FrameHashes(fp.frames.hashes, fp.frames.flipped, fp.frames.times), 9.0)
    loaded = MediaFingerprint.from_bytes(old.to_bytes())
    assert loaded.frames is not None and loaded.frames.masked is None
    with pytest.raises(InvalidFingerprint):
        FrameHashes(fp.frames.hashes, fp.frames.flipped, fp.frames.times, fp.frames.masked[:, :2])


def test_a_test_pattern_excerpt_aligns_at_its_offset(kit, tmp_path: Path):
    """ffmpeg's testsrc2 is a still pattern with small moving parts that, at the 128-pixel frames
    hashed, nearly repeats every 4 s: the excerpt (the demo's re-upload) is found whole, at the
    offset whose frames are closest (with one corner painted over its frames all look alike, and
    the offsets' neighbouring bins once pulled the run off every true alignment)."""
    original, excerpt = tmp_path / "pattern.mp4", tmp_path / "excerpt.mp4"
    kit.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:d=20", "-c:v", "libx264", original)
    kit.ffmpeg("-ss", "6", "-t", "10", "-i", original, "-vf", "scale=256:144", "-c:v", "libx264", excerpt)
    index = VideoIndex()
    reference = fingerprint_file(original)
    assert reference.frames is not None
    index.add(1, reference.frames)
    (found,) = Matcher(None, index).match(fingerprint_file(excerpt))
    assert found.reference_id == 1 and abs(found.reference_start - 6.0) <= 0.5, found
    assert found.duration > 9.0
