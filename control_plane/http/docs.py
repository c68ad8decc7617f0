"""The interactive API documentation, served whole by the control plane: Swagger UI at ``/docs``,
ReDoc at ``/redoc``, their scripts and styles under ``/docs/assets/`` (from the ``fastapi-offline``
package, which ships them; no CDN), and ``/`` redirecting to ``/docs``.

The pages load nothing from elsewhere, so they work on a host with no internet access, under a
Content-Security-Policy that allows scripts and styles from this origin only (see
``SecurityHeadersMiddleware``). Links are relative, so the pages also work behind a gateway that
adds a path prefix.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from string import Template

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from control_plane.core.errors import NotFound

__all__ = ["router", "ASSETS", "DOCS_CSP"]

router = APIRouter(include_in_schema=False)

ASSET_MAX_AGE = 86400  # seconds
#: What the documentation pages may load: scripts, styles, pictures and fonts of this origin, the
#: API itself (Try it out), ReDoc's web worker; inline styles (both UIs set style attributes).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _vendored(name: str) -> Traversable:
    return resources.files("fastapi_offline").joinpath("static", name)


#: name -> (the file, its content type). Nothing else is served under ``/docs/assets/``.
ASSETS: dict[str, tuple[Traversable, str]] = {
    "swagger-ui-bundle.js": (_vendored("swagger-ui-bundle.js"), "text/javascript; charset=utf-8"),
    "swagger-ui.css": (_vendored("swagger-ui.css"), "text/css; charset=utf-8"),
    "redoc.standalone.js": (_vendored("redoc.standalone.js"), "text/javascript; charset=utf-8"),
    "favicon.png": (_vendored("favicon.png"), "image/png"),
    "swagger-init.js": (
        resources.files("control_plane.http").joinpath("assets", "swagger-init.js"),
        "text/javascript; charset=utf-8",
    ),
}

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Social Flow API</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
$head</head>
<body>
$body</body>
</html>
""")
SWAGGER_PAGE = _PAGE.substitute(
    head='<link rel="stylesheet" href="docs/assets/swagger-ui.css">\n',
    body='<div id="swagger-ui" data-openapi="openapi.json"></div>\n'
    '<script src="docs/assets/swagger-ui-bundle.js"></script>\n'
    '<script src="docs/assets/swagger-init.js"></script>\n',
)
REDOC_PAGE = _PAGE.substitute(
    head="",
    body='<redoc spec-url="openapi.json"></redoc>\n<script src="docs/assets/redoc.standalone.js"></script>\n',
)


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    """The API's front page is its documentation (until a studio takes ``/``)."""
    return RedirectResponse("docs", status_code=307)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return HTMLResponse(SWAGGER_PAGE)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return HTMLResponse(REDOC_PAGE)


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    """One of the documentation pages' files; anything not in ``ASSETS`` is 404."""
    if name not in ASSETS:
        raise NotFound("No such documentation asset.", code="ASSET_NOT_FOUND")
    path, media_type = ASSETS[name]
    cache = {"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"}
    return Response(path.read_bytes(), media_type=media_type, headers=cache)
