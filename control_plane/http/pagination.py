"""Cursor pagination for every list: ``?limit=1..100`` (default 20) and an opaque ``?cursor=``.

Lists are ordered by a *keyset*: one or more sort columns ending with a unique one (an id), all
in the same direction. A cursor is the keyset of the last item of a page, as base64url JSON; the
next page is the rows strictly after it. Adding or removing rows between pages therefore neither
repeats nor skips any row that stays: the position is a value, not an offset.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from pydantic import BaseModel

from control_plane.core.errors import BadRequest

__all__ = ["Page", "PageParams", "PageDep", "Keyset", "encode_cursor", "decode_cursor"]

T = TypeVar("T")
Row = TypeVar("Row")
S = TypeVar("S", bound=sa.Select)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR = 512  # characters; a cursor holds a few sort values


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def _plain(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str):
        return datetime.fromisoformat(value["t"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """The opaque cursor of one keyset (str, int, float, None and timezone-aware datetimes)."""
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The keyset in ``cursor``; BadRequest ``INVALID_CURSOR`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong shape")
        return [_typed(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not one this list gave out.", code="INVALID_CURSOR") from exc


def _fits(value: Any, column: sa.ColumnElement[Any]) -> Any:
    """``value`` if it has the column's type (a forged cursor could hold anything), else 400."""
    try:
        wanted: type = getattr(column.type, "impl_instance", column.type).python_type  # a TypeDecorator's own
    except NotImplementedError:
        wanted = object
    if wanted is object:  # an expression of no declared type: a number (a search rank)
        wanted = float
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    naive = isinstance(value, datetime) and value.tzinfo is None
    if not isinstance(value, wanted) or isinstance(value, bool) or naive or "\x00" in str(value):
        raise BadRequest("The cursor is not one this list gave out.", code="INVALID_CURSOR")
    return value


@dataclass(frozen=True)
class PageParams:
    """What the client asked for: ``limit`` items after ``cursor`` (None: from the start)."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR, description="next_cursor of the previous page")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class Keyset:
    """An ordering by ``columns`` (the last one unique), newest or largest first unless ``ascending``."""

    #: Columns or ORM attributes.
    columns: tuple[Any, ...]
    ascending: bool = False

    def apply(self, query: S, page: PageParams) -> S:
        """``query`` ordered by the keyset, after the page's cursor, one row more than the limit
        (the extra row tells whether there is a next page)."""
        order = [c.asc() if self.ascending else c.desc() for c in self.columns]
        query = query.order_by(*order).limit(page.limit + 1)
        if page.cursor is None:
            return query
        values = [
            _fits(v, c)
            for v, c in zip(decode_cursor(page.cursor, len(self.columns)), self.columns, strict=True)
        ]
        bound = sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(values, self.columns, strict=True)))
        here = sa.tuple_(*self.columns)
        return query.where(here > bound if self.ascending else here < bound)

    def page(
        self, rows: Sequence[Row], page: PageParams, key: Callable[[Row], Sequence[Any]]
    ) -> tuple[list[Row], str | None]:
        """The rows of this page and the cursor of the next (None on the last page)."""
        items = list(rows[: page.limit])
        more = len(rows) > page.limit
        return items, encode_cursor(key(items[-1])) if more and items else None
