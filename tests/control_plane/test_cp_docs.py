"""The interactive docs work offline: ``/docs`` and ``/redoc`` load every script and style from the
control plane (nothing from a CDN), under a Content-Security-Policy that allows this origin only;
``/`` leads to them."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from support.platform import Platform

#: What each page must load, and the content type it must come with.
EXPECTED = {
    "/docs": {
        "/docs/assets/swagger-ui-bundle.js": "text/javascript",
        "/docs/assets/swagger-init.js": "text/javascript",
        "/docs/assets/swagger-ui.css": "text/css",
        "/docs/assets/favicon.png": "image/png",
    },
    "/redoc": {
        "/docs/assets/redoc.standalone.js": "text/javascript",
        "/docs/assets/favicon.png": "image/png",
    },
}


class _Loads(HTMLParser):
    """Every URL a page makes a browser fetch, and any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name in ("src", "href", "spec-url", "data-openapi"):
            if a.get(name):
                self.urls.append(a[name])
        self._script = tag == "script" and not a.get("src")

    def handle_data(self, data: str) -> None:
        if self._script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._script = False


def csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_docs_load_everything_from_this_server(platform: Platform, page: str) -> None:
    r = platform.client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    loads = _Loads()
    loads.feed(r.text)
    assert loads.inline_scripts == 0  # the CSP allows no inline script
    absolute = {urlsplit(urljoin(f"http://testserver{page}", url)) for url in loads.urls}
    assert {u.netloc for u in absolute} == {"testserver"}, loads.urls  # nothing from elsewhere
    assert {u.path for u in absolute} == {*EXPECTED[page], "/openapi.json"}
    for path, kind in EXPECTED[page].items():
        asset = platform.client.get(path)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), path
        assert "max-age" in asset.headers["cache-control"] and len(asset.content) > 100
    policy = csp(r)
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert not any("http" in value or "*" in value for value in policy.values()), policy
    assert not any("unsafe-eval" in value for value in policy.values())


def test_the_bundles_are_the_real_ui(platform: Platform) -> None:
    assert b"SwaggerUIBundle" in platform.client.get("/docs/assets/swagger-ui-bundle.js").content
    assert b"Redoc" in platform.client.get("/docs/assets/redoc.standalone.js").content
    assert b"SwaggerUIBundle(" in platform.client.get("/docs/assets/swagger-init.js").content
    missing = platform.client.get("/docs/assets/../../etc/passwd")
    assert missing.status_code == 404
    unknown = platform.client.get("/docs/assets/evil.js")
    assert unknown.status_code == 404 and unknown.json()["code"] == "ASSET_NOT_FOUND"


def test_root_redirects_to_the_docs(platform: Platform) -> None:
    r = platform.client.get("/", follow_redirects=False)
    assert (
        r.status_code == 307
        and urljoin("http://testserver/", r.headers["location"]) == "http://testserver/docs"
    )
    assert platform.client.get("/").status_code == 200  # followed: the docs page


def test_api_answers_keep_the_strict_policy(platform: Platform) -> None:
    assert csp(platform.client.get("/healthz")) == {"default-src": "'none'", "frame-ancestors": "'none'"}
