"""The studio as files: served from the package at ``/studio/`` under its policy, everything
it loads local, the upload page's first load within its JavaScript budget, and the committed
build equal to a fresh one from the sources (skipped without Node.js; failing in CI)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from support.platform import Platform

from control_plane.studio.assets import assets
from control_plane.studio.routes import csp

from .conftest import need

STUDIO = Path(__file__).resolve().parents[2] / "control_plane" / "studio"
STATIC, WEB = STUDIO / "static", STUDIO / "web"
#: JavaScript of the upload page's first load, gzip-compressed, at most (bytes).
UPLOAD_FIRST_LOAD_BUDGET = 300 * 1024


def test_the_studio_is_served_from_the_package_under_its_policy(platform: Platform) -> None:
    client = platform.client
    assert client.get("/studio", follow_redirects=False).headers["location"] == "/studio/"
    page = client.get("/studio/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy == csp(platform.services.settings.effective_public_url)
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert page.headers["cache-control"] == "no-cache"

    # The app routes in the browser: a deep link gets the same page; a missing file is 404.
    assert client.get("/studio/watch/0123456789abcdef").text == page.text
    assert client.get("/studio/assets/nothing-here.js").status_code == 404

    # Every file the page names is local and served, gzipped to those that accept it.
    named = [n for n in re.findall(r'(?:src|href)="([^"]+)"', page.text) if not n.startswith("#")]
    assert named and all(n.startswith("/studio/") for n in named), named
    for url in named:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200, url
        if url.endswith(".js"):
            assert plain.headers["cache-control"].endswith("immutable")
            packed = client.get(url, headers={"Accept-Encoding": "gzip"})
            assert packed.headers["content-encoding"] == "gzip" and packed.content == plain.content
            again = client.get(url, headers={"If-None-Match": plain.headers["etag"]})
            assert again.status_code == 304


def test_no_built_file_reaches_for_another_origin() -> None:
    """The app loads nothing from elsewhere: no absolute http(s) URL to fetch in any built file,
    except in the libraries' comments and error messages (checked by the browser tests)."""
    index = (STATIC / "index.html").read_text()
    assert "http://" not in index and "https://" not in index
    css = "".join(p.read_text() for p in STATIC.glob("assets/*.css"))
    assert "url(http" not in css and "@import" not in css


def _chunk_closure(manifest: dict, key: str, seen: set[str]) -> None:
    if key in seen:
        return
    seen.add(key)
    for imported in manifest[key].get("imports", []):
        _chunk_closure(manifest, imported, seen)


def test_the_upload_page_first_load_is_under_300_kb_of_javascript() -> None:
    manifest = json.loads((STATIC / ".vite" / "manifest.json").read_text())
    chunks: set[str] = set()
    _chunk_closure(manifest, "index.html", chunks)
    _chunk_closure(manifest, "src/pages/upload.ts", chunks)
    files = {manifest[c]["file"] for c in chunks}
    sizes = {f: len(gzip.compress((STATIC / f).read_bytes(), 9)) for f in files}
    total = sum(sizes.values())
    assert total < UPLOAD_FIRST_LOAD_BUDGET, sizes
    # The players are not part of it: they come with the watch page.
    assert not any("hls" in f or "dash" in f for f in files), files


def test_the_package_table_serves_exactly_the_built_files() -> None:
    on_disk = {
        p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(STATIC).parts)
    }
    assert set(assets()) == on_disk


def test_the_committed_build_is_what_the_sources_build() -> None:
    npm = shutil.which("npm")
    need(npm is not None and shutil.which("node") is not None, "Node.js and npm are not installed")
    assert npm is not None
    modules = WEB / "node_modules"
    if not modules.is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"studio-rebuild-{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    try:
        subprocess.run([str(modules / ".bin" / "tsc"), "--noEmit"], cwd=WEB, check=True, timeout=300)
        subprocess.run(
            [str(modules / ".bin" / "vite"), "build", "--outDir", str(out), "--logLevel", "warn"],
            cwd=WEB,
            check=True,
            timeout=300,
        )
        built = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        committed = {
            p.relative_to(STATIC).as_posix(): p.read_bytes() for p in STATIC.rglob("*") if p.is_file()
        }
        assert sorted(built) == sorted(committed), (
            "rebuild the studio: npm run build in control_plane/studio/web"
        )
        differing = [name for name in built if built[name] != committed[name]]
        assert differing == [], f"rebuilt files differ from the committed ones: {differing}"
    finally:
        shutil.rmtree(out, ignore_errors=True)
