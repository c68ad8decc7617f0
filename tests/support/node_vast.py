"""A real player-side VAST parser for the ads tests: npm's ``@dailymotion/vast-client`` (with
``@xmldom/xmldom``) on Node, pinned by ``node-vast/package-lock.json`` and installed there with
``npm ci`` the first time it is needed."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.locks import held
from support.services import service_missing

HERE = Path(__file__).parent / "node-vast"


@pytest.fixture(scope="session")
def vast_client() -> Callable[[bytes], dict[str, Any]]:
    """``parse(xml)``: what the VAST client reads from a document (see ``node-vast/parse.mjs``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        service_missing("Node.js with npm")
    assert node is not None and npm is not None
    with held("node-vast"):
        if not (HERE / "node_modules" / "@dailymotion" / "vast-client").is_dir():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300, capture_output=True
            )

    def parse(xml: bytes) -> dict[str, Any]:
        done = subprocess.run([node, "parse.mjs"], cwd=HERE, input=xml, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    return parse
