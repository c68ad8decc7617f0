"""The local reference library behind ``socialflow fingerprint index/match``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fingerprint import (
    InvalidFingerprint,
    LocalLibrary,
    MediaFingerprint,
    MediaUnreadable,
    NoFingerprintableStream,
    fingerprint_file,
)

CLAIM_KEYS = {
    "reference_id",
    "kind",
    "query_start",
    "reference_start",
    "duration",
    "score",
    "query",
    "reference",
}


@pytest.fixture(scope="module")
def library_media(kit, music, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fingerprint-library")
    refs = root / "refs"
    (refs / "nested").mkdir(parents=True)
    out = {
        "movie": kit.make_video(
            refs / "movie.mp4", seed=11, seconds=20.0, audio=kit.excerpt(music["frontiers"], 0.0, 20.0)
        ),
        "song": kit.write_wav(refs / "nested" / "song.wav", kit.excerpt(music["machine_wars"], 0.0, 30.0)),
    }
    (refs / "notes.txt").write_text("not media")
    out["clip"] = root / "clip.mp4"
    kit.ffmpeg(
        "-ss",
        "4",
        "-t",
        "10",
        "-i",
        out["movie"],
        "-vf",
        "scale=320:240",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        out["clip"],
    )
    song_part = kit.write_wav(root / "song-part.wav", kit.excerpt(music["machine_wars"], 12.0, 9.0))
    out["song_mp3"] = root / "song-part.mp3"
    kit.ffmpeg("-i", song_part, "-c:a", "libmp3lame", "-b:a", "64k", out["song_mp3"])
    out["unrelated"] = kit.write_wav(root / "unrelated.wav", kit.excerpt(music["time_to_strike"], 50.0, 12.0))
    out["broken"] = root / "broken.mp4"
    out["broken"].write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not really a movie")
    out["refs"] = refs
    return out


def test_index_folder_then_match_many_files(library_media, tmp_path: Path):
    library = LocalLibrary(tmp_path / "index")
    assert library.index_paths([library_media["refs"]]) == 2
    assert sorted(r["name"] for r in library.references.values()) == ["movie.mp4", "song.wav"]
    assert library.index_paths([library_media["refs"], library_media["movie"]]) == 0

    queries = [library_media[k] for k in ("clip", "song_mp3", "unrelated", "broken")]
    rows = list(library.match_files(queries))
    assert [row["query"] for row in rows] == [str(q) for q in queries]

    clip, song, unrelated, broken = rows
    assert set(clip) == CLAIM_KEYS and clip["reference"] == "movie.mp4"
    assert abs(clip["reference_start"] - 4.0) <= 1.0 and abs(clip["query_start"]) <= 1.0
    assert abs(clip["duration"] - 10.0) <= 1.0 and clip["kind"] in ("audio", "video")
    assert set(song) == CLAIM_KEYS and song["reference"] == "song.wav" and song["kind"] == "audio"
    assert abs(song["reference_start"] - 12.0) <= 1.0 and abs(song["duration"] - 9.0) <= 1.0
    assert unrelated == {"query": str(library_media["unrelated"]), "reference": None}
    assert broken["reference"] is None and broken["error"]["code"] == "MEDIA_UNREADABLE"

    reopened = LocalLibrary(tmp_path / "index")
    assert list(reopened.match_files(queries)) == rows

    assert reopened.remove(clip["reference_id"]) and not reopened.remove(clip["reference_id"])
    after = LocalLibrary(tmp_path / "index")
    assert list(after.match_files([library_media["clip"]])) == [
        {"query": str(library_media["clip"]), "reference": None}
    ]
    assert [r["name"] for r in after.references.values()] == ["song.wav"]


def test_audio_and_video_evidence_merge_into_one_claim(library_media, tmp_path: Path):
    library = LocalLibrary(tmp_path / "index")
    library.index_paths([library_media["movie"]])
    matches = library.matcher().match(fingerprint_file(library_media["clip"]))
    assert {m.kind for m in matches} == {"audio", "video"}
    rows = list(library.match_files([library_media["clip"]]))
    assert len(rows) == 1


def test_bad_paths_raise_clear_errors(library_media, tmp_path: Path):
    library = LocalLibrary(tmp_path / "index")
    with pytest.raises(MediaUnreadable):
        library.index_paths([tmp_path / "missing.mp4"])
    with pytest.raises(MediaUnreadable) as err:
        library.index_paths([library_media["broken"]])
    assert err.value.status == 422
    image = tmp_path / "picture.txt"
    image.write_text("plain text")
    with pytest.raises((MediaUnreadable, NoFingerprintableStream)):
        library.index_paths([image])
    assert library.references == {}


def test_media_fingerprint_round_trips_through_bytes(library_media):
    fp = fingerprint_file(library_media["clip"])
    again = MediaFingerprint.from_bytes(fp.to_bytes())
    assert (
        fp.peaks is not None
        and again.peaks is not None
        and fp.frames is not None
        and again.frames is not None
    )
    assert np.array_equal(again.peaks.times, fp.peaks.times) and np.array_equal(
        again.peaks.freqs, fp.peaks.freqs
    )
    assert np.array_equal(again.frames.hashes, fp.frames.hashes)
    assert np.array_equal(again.frames.flipped, fp.frames.flipped)
    assert np.array_equal(again.frames.times, fp.frames.times) and again.duration == fp.duration
    # The centre hashes that verify video runs travel with the fingerprint (worker to worker).
    assert fp.frames.centre is not None and again.frames.centre is not None
    assert again.frames.centre_flipped is not None and fp.frames.centre_flipped is not None
    assert np.array_equal(again.frames.centre, fp.frames.centre)
    assert np.array_equal(again.frames.centre_flipped, fp.frames.centre_flipped)
    audio_only = MediaFingerprint.from_bytes(MediaFingerprint(fp.peaks, None, 3.0).to_bytes())
    assert audio_only.frames is None and audio_only.duration == 3.0
    with pytest.raises(InvalidFingerprint):
        MediaFingerprint.from_bytes(b"garbage")


def _socialflow(*args: str | Path, cwd: Path) -> list[dict]:
    """Run the ``socialflow`` command; its JSON lines."""
    command = [str(Path(sys.executable).with_name("socialflow")), *map(str, args)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_command_reports_a_five_second_excerpt_and_filters_by_length(
    library_media, kit, music, tmp_path: Path
):
    """Shorter than the 7 s claim rule, an excerpt is still an identification on the command line."""
    five = kit.write_wav(tmp_path / "five.wav", kit.excerpt(music["machine_wars"], 3.0, 5.0))
    index = ("--index", tmp_path / "index")
    assert _socialflow("fingerprint", "index", library_media["refs"], *index, cwd=tmp_path) == []
    found, nothing = _socialflow(
        "fingerprint", "match", five, library_media["unrelated"], *index, cwd=tmp_path
    )
    assert found["reference"] == "song.wav" and found["kind"] == "audio"
    assert 4.0 <= found["duration"] <= 5.0 and abs(found["reference_start"] - 3.0) <= 0.5
    assert nothing == {"query": str(library_media["unrelated"]), "reference": None}
    longer = _socialflow("fingerprint", "match", five, "--min-duration", "7", *index, cwd=tmp_path)
    assert longer == [{"query": str(five), "reference": None}]


def test_identifications_are_clipped_to_the_reference(kit, music, tmp_path: Path):
    """A reference indexed with its length: what is reported never reaches past its end."""
    reference = kit.write_wav(tmp_path / "ref.wav", kit.excerpt(music["frontiers"], 40.0, 8.0))
    query = kit.write_wav(tmp_path / "query.wav", kit.excerpt(music["frontiers"], 36.0, 16.0))
    library = LocalLibrary(tmp_path / "index")
    library.index_paths([reference])
    (ref,) = library.references.values()
    assert ref["duration"] == pytest.approx(8.0, abs=0.01)
    (row,) = library.match_files([query])
    assert row["reference"] == "ref.wav" and row["reference_start"] >= 0.0
    assert row["reference_start"] + row["duration"] <= ref["duration"] + 1e-3
