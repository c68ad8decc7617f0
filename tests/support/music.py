"""Real music for the tests that need it: Debian's ``asc-music`` game music package.

Three MP3 tracks (about 10 MB), fetched once with ``apt-get download`` into
~/.cache/socialflow-test-media and never committed. Without apt or network the tests that need
them skip locally and fail in CI (``support.services.service_missing``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from support.locks import held
from support.services import service_missing

CACHE = Path.home() / ".cache" / "socialflow-test-media"
PACKAGE = "asc-music"
TRACKS = ("frontiers", "machine_wars", "time_to_strike")


def fetch_music() -> dict[str, Path]:
    with held("music"):  # test processes side by side download it once
        return _fetch_music()


def _fetch_music() -> dict[str, Path]:
    folder = CACHE / PACKAGE
    wanted = {name: folder / "usr/share/games/asc/music" / f"{name}.mp3" for name in TRACKS}
    if all(p.exists() for p in wanted.values()):
        return wanted
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        service_missing("Debian test media (apt-get)")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["apt-get", "download", PACKAGE], cwd=tmp, check=True, capture_output=True, timeout=300
            )
            deb = next(Path(tmp).glob(f"{PACKAGE}_*.deb"))
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["dpkg", "-x", str(deb), str(folder)], check=True, capture_output=True, timeout=120
            )
        except (subprocess.SubprocessError, StopIteration, OSError):
            service_missing("Debian test media (apt-get download asc-music)")
    if not all(p.exists() for p in wanted.values()):
        service_missing("Debian test media (asc-music content)")
    return wanted


@pytest.fixture(scope="session")
def music_files() -> dict[str, Path]:
    """The three asc-music MP3 files by track name."""
    return fetch_music()
