"""Small server-rendered HTML pages: one layout, escaped output, and the headers that keep them safe.

A page carries its style inline and nothing else: no script, no image, no font, nothing fetched
from elsewhere. Its Content-Security-Policy allows exactly that style (by its SHA-256), form posts
to the page's own origin, and no framing. The pages answer links that carry a secret in their
query string, so no referrer leaves them and nobody keeps a copy (``Cache-Control: no-store``).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from string import Template

from fastapi.responses import HTMLResponse

__all__ = ["Html", "html", "page", "PAGE_HEADERS", "CSP"]

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;"
    "color:#1d1d1f;background:#fafafa}"
    "h1{font-size:1.4rem}"
    "label{display:block;margin:1rem 0 .25rem}"
    "input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit}"
    "button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;cursor:pointer}"
    ".problem{border-left:4px solid #b3261e;padding:.25rem .75rem;background:#fdecea}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")

CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class Html(str):
    """Text that is HTML already: ``html`` inserts it as it is instead of escaping it."""

    __slots__ = ()


def html(template: str, /, **values: object) -> Html:
    """``template`` with its ``$name`` fields filled by ``values``; every value is HTML-escaped
    (quotes included, so it is safe in an attribute too) unless it is ``Html``. A field without a
    value raises KeyError."""
    return Html(
        Template(template).substitute(
            {name: value if isinstance(value, Html) else escape(str(value)) for name, value in values.items()}
        )
    )


_LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>$title - $site</title>
<style>$style</style>
</head>
<body>
<main>
<h1>$title</h1>
$body
</main>
</body>
</html>
"""


def page(
    title: str,
    body: Html,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    site: str = "Social Flow",
) -> HTMLResponse:
    """A whole page around ``body`` with the security headers; ``headers`` are added (Retry-After)."""
    document = html(_LAYOUT, title=title, site=site, style=Html(STYLE), body=body)
    return HTMLResponse(document, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
