"""What the OpenAPI document says beyond FastAPI's defaults: every error as RFC 9457 problem+json,
and who may call each operation.

A route lists the problems its own code raises (``responses=problems(409)``). What follows from
how a route is built, ``describe`` adds to every route once the routers are in: the problems its
dependencies declare (``declares``: a signed-in caller may get 401 and 429, a role check 403), 404
for a path parameter (it names something that may not exist), 422 for any parameter or body
(validation) and 413 for a body (the request body limit). Dependencies that authenticate also
name the ``bearer`` security scheme, as required or optional.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PROBLEM_JSON", "Problem", "problems", "answers", "declares", "describe", "Responses"]

PROBLEM_JSON = "application/problem+json"
SECURITY_SCHEME = "bearer"

#: What each problem status means on this API, as the document says it.
MEANINGS = {
    400: "The request is malformed",
    401: "No valid access token (or other credential) came with the request",
    403: "The caller may not do this",
    404: "Nothing of that name, or nothing the caller may see",
    405: "The method is not allowed here",
    409: "The request conflicts with the resource's state",
    410: "Gone",
    412: "A precondition header is missing or wrong",
    413: "The request body, or the declared upload, is too large",
    415: "The body's media type is not accepted here",
    416: "The byte range is outside the resource",
    422: "The request does not validate: its parameters or body break the schema or a rule",
    423: "Another request is writing to this resource; retry when it ends",
    426: "This path speaks WebSocket only",
    429: "Over a rate limit or the account's API budget; Retry-After says when to try again",
    451: "Not available in the caller's country",
    460: "Checksum mismatch",
    502: "An upstream service (a sign-in provider) could not be reached",
    503: "A service this needs is unavailable",
    504: "Timed out waiting",
}

Responses = dict[int | str, dict[str, Any]]
F = TypeVar("F", bound=Callable[..., Any])
Security = Literal["required", "optional"]


class Problem(BaseModel):
    """An error, as RFC 9457 problem details. ``code`` is stable: clients branch on it."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the problem type")
    title: str
    status: int
    detail: str = Field(description="what went wrong, in words for whoever reads it")
    code: str = Field(description="the stable machine-readable code, e.g. VIDEO_NOT_FOUND")
    instance: str | None = Field(None, description="the path of the request")


def problems(*statuses: int, **meanings: str) -> Responses:
    """The document's responses for ``statuses``, each a problem+json body. ``meanings`` (keyed
    ``s404`` and so on) say what a status means on this route, where the general words fall short."""
    return {
        status: {
            "description": meanings.get(f"s{status}", MEANINGS.get(status, "A problem")),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def answers(status: int, *media_types: str, description: str = "OK", **extra: Any) -> Responses:
    """The document's response ``status`` with a body of any of ``media_types`` (no schema: bytes
    of that type); ``extra`` goes into the response object as it is (``headers``, for one)."""
    return {status: {"description": description, "content": {t: {} for t in media_types}, **extra}}


def declares(*statuses: int, security: Security | None = None) -> Callable[[F], F]:
    """Mark a dependency with the problems it may raise (and, for one that authenticates, whether
    the bearer token is required or optional); every route that depends on it says so."""

    def mark(dependency: F) -> F:
        dependency.__problems__ = statuses  # type: ignore[attr-defined]
        dependency.__security__ = security  # type: ignore[attr-defined]
        return dependency

    return mark


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def inferred(route: APIRoute) -> tuple[set[int], Security | None]:
    """The problem statuses ``route`` may answer by how it is built, and its bearer security."""
    dependant = route.dependant
    statuses: set[int] = set()
    security: Security | None = None
    for sub in _dependants(dependant):
        statuses.update(getattr(sub.call, "__problems__", ()))
        declared = getattr(sub.call, "__security__", None)
        if declared == "required" or (declared == "optional" and security is None):
            security = declared
    every = [dependant, *_dependants(dependant)]
    if any(d.path_params for d in every):
        statuses.add(404)
    if any(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params for d in every
    ):
        statuses.add(422)
    if any(d.body_params for d in every):
        statuses.add(413)
    return statuses, security


def describe(
    app: FastAPI, routers: Sequence[APIRouter], *, settled: Sequence[Callable[[dict[str, Any]], None]] = ()
) -> None:
    """Make ``app``'s document carry, for every route of ``routers``, the inferred problems and
    security, with the ``Problem`` schema and the ``bearer`` scheme; keep the routes on
    ``app.state.api_routes`` (a 405's ``Allow`` header is computed from them). Each of ``settled``
    then writes into the document what only this server's settings know (a size limit)."""
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    app.state.api_routes = routes
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for route in routes:
                for method in route.methods or () if route.include_in_schema else ():
                    operation = document["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        _complete(operation, route)
            components = document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "description": "an access token from POST /api/v1/auth/login",
            }
            for settle in settled:
                settle(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(operation: dict[str, Any], route: APIRoute) -> None:
    """Add what ``route`` answers by how it is built to its ``operation`` in the document; FastAPI's
    own 422 (a JSON body this API never sends) gives way to the problem+json one."""
    statuses, security = inferred(route)
    responses = operation.setdefault("responses", {})
    if "422" in responses and 422 not in route.responses:
        del responses["422"]
    for status, response in problems(*statuses).items():
        responses.setdefault(str(status), response)
    operation["responses"] = dict(sorted(responses.items()))
    if security is not None:
        operation["security"] = [{SECURITY_SCHEME: []}] + ([{}] if security == "optional" else [])
