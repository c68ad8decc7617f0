"""The studio's browser tests: one Debian Chromium for the whole session (Playwright drives it),
one ``socialflow serve`` for the module, screenshots into an artefacts folder.

Chromium is ``/usr/bin/chromium`` (Debian's package; ``.ci/run`` installs it); the tests skip
where it or Playwright is missing, and fail instead under ``CI=true``. Every browser context
lets requests reach the server under test only: anything else is aborted and recorded, so a
test fails if a page reaches for the internet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.serve import Serve, make_clip

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
PASSWORD = "a long studio passphrase"


def need(condition: bool, why: str) -> None:
    """Skip without ``condition`` on a laptop; fail in CI, where everything must be there."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need(CHROMIUM.exists(), "Debian's Chromium (/usr/bin/chromium) is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (pip install -e '.[dev]')")
        raise
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``SOCIALFLOW_TEST_ARTEFACTS`` if set, else a pytest temporary folder."""
    chosen = os.environ.get("SOCIALFLOW_TEST_ARTEFACTS")
    folder = Path(chosen) / "studio" if chosen else tmp_path_factory.mktemp("studio-artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    data = tmp_path_factory.mktemp("studio-serve")
    serve = Serve(data).start()
    try:
        yield serve
    finally:
        serve.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s 640x360 H.264/AAC clip: two renditions (360p, 240p) once transcoded."""
    return make_clip(tmp_path_factory.mktemp("studio-clip") / "clip.mp4", 4)


class Browsing:
    """A browser context on the server (and the origins in ``allow``): requests elsewhere are
    aborted and listed in ``left``; uncaught page errors and CSP refusals are listed in ``errors``."""

    def __init__(self, browser: Any, server: Serve, *, allow: tuple[str, ...] = (), **options: Any) -> None:
        self.origin = server.base
        self.allowed = {server.base, *allow}
        self.context = browser.new_context(base_url=server.base, **options)
        self.left: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._guard)

    def _guard(self, route: Any) -> None:
        parts = urlsplit(route.request.url)
        if f"{parts.scheme}://{parts.netloc}" in self.allowed or parts.scheme in ("data", "blob"):
            route.continue_()
        else:
            self.left.append(route.request.url)
            route.abort("internetdisconnected")

    def page(self) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.errors.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        return page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browsing(browser: Any, server: Serve) -> Iterator[Callable[..., Browsing]]:
    """Open browser contexts (each its own cookies, like another person); all closed after,
    and each must have stayed on the server, with no page error."""
    opened: list[Browsing] = []

    def open_(*, allow: tuple[str, ...] = (), **options: Any) -> Browsing:
        opened.append(Browsing(browser, server, allow=allow, **options))
        return opened[-1]

    yield open_
    for b in opened:
        b.close()
    for b in opened:
        assert b.left == [], f"requests left the server: {b.left}"
        assert b.errors == [], b.errors


def sign_up(page: Any, username: str) -> None:
    page.goto("/studio/signup")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/studio/upload")


def sign_in(page: Any, username: str) -> None:
    page.goto("/studio/signin")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function("() => !location.pathname.endsWith('/signin')")
