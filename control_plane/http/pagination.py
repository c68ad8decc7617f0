"""Cursor pagination for every list of the API: keyset pages over (sort key..., id).

A page is ``{items, next_cursor}``. The cursor is opaque to clients: URL-safe base64 of a small
JSON object naming the ordering it belongs to and the sort values of the last item served. The
next page starts strictly after that item in the ordering, so rows inserted or deleted between
two requests neither repeat an item nor skip one that was there all along (only an item whose
own sort key changes in between may move across the boundary). Every ordering ends in a unique
column (the id), so the order is total.

Usage: a route takes ``page: PageDep``; the query selects what the caller needs and then the
order's columns, last::

    latest = Order("latest", (Video.published_at, Video.id))
    rows, next_cursor = keyset_page(session, sa.select(Video, *latest.columns), latest, page)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import QueryableAttribute, Session

from control_plane.core.errors import Unprocessable

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "InvalidCursor",
    "Order",
    "Page",
    "PageParams",
    "PageDep",
    "decode_cursor",
    "encode_cursor",
    "keyset_merge",
    "keyset_page",
    "page_params",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: Characters a cursor may have; ours are far shorter, the bound keeps bad input cheap.
MAX_CURSOR_LENGTH = 512

T = TypeVar("T")
#: A column to sort by: a mapped attribute (``Video.id``) or any column expression.
Sortable = sa.ColumnElement[Any] | QueryableAttribute[Any]


class InvalidCursor(Unprocessable):
    """A cursor this list did not give out (another list's, or altered): start again without it."""

    code = "INVALID_CURSOR"


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageParams:
    """What the client asked for: at most ``limit`` items after ``cursor`` (None: the first page)."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page"),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor or None)


PageDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class Order:
    """A named ordering: ``columns`` from the most significant to the unique tie-breaker (an id),
    all descending (newest or biggest first) unless ``descending`` is False.

    The columns must be NOT NULL (or wrapped in ``coalesce``): a keyset cannot step over NULLs.
    ``name`` is written into the cursor, so a cursor of one ordering is refused by another.
    """

    name: str
    columns: tuple[Sortable, ...]
    descending: bool = True

    def order_by(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def after(self, values: Sequence[Any]) -> sa.ColumnElement[bool]:
        """Rows strictly after the row whose sort values are ``values``, as one row comparison;
        ``InvalidCursor`` when a value is not of its column's type (a forged cursor)."""
        bound = [
            sa.bindparam(None, _fits(v, c), type_=c.type) for c, v in zip(self.columns, values, strict=True)
        ]
        left, right = sa.tuple_(*self.columns), sa.tuple_(*bound)
        return left < right if self.descending else left > right


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) != {"t"} or not isinstance(value["t"], str):
            raise ValueError("bad value")
        return datetime.fromisoformat(value["t"])
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError("bad value")


def _fits(value: Any, column: Sortable) -> Any:
    """``value`` if it has the column's Python type (for a type decorator, its implementation's;
    a number for an expression of no declared type, a search rank), else ``InvalidCursor``."""
    try:
        wanted: type = getattr(column.type, "impl_instance", column.type).python_type
    except NotImplementedError:
        wanted = object
    if wanted is object:
        wanted = float
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    naive = isinstance(value, datetime) and value.tzinfo is None
    stray_bool = isinstance(value, bool) and wanted is not bool
    if not isinstance(value, wanted) or stray_bool or naive or "\x00" in str(value):
        raise InvalidCursor("This cursor is not one this list gave out; start again without it.")
    return value


def encode_cursor(order: str, values: Sequence[Any]) -> str:
    """The opaque cursor that continues ``order`` after the row with sort ``values``."""
    raw = json.dumps({"o": order, "k": [_plain(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: str, width: int) -> list[Any]:
    """The sort values in ``cursor``; raises ``InvalidCursor`` (400) unless it is a cursor of
    ``order`` with ``width`` values."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("o") != order:
            raise ValueError("another ordering")
        values = body.get("k")
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong width")
        return [_typed(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidCursor(
            "This cursor is not one this list gave out; start again without it.",
        ) from exc


def keyset_page(
    session: Session, query: sa.Select[Any], order: Order, page: PageParams
) -> tuple[list[Any], str | None]:
    """Run ``query`` (already filtered) for one page in ``order``: the rows and the next cursor.

    ``query`` must select the order's columns last (the cursor is made of a row's trailing
    values). One row beyond the limit is fetched to learn whether a next page exists, so the last
    page has no cursor.
    """
    if page.cursor is not None:
        query = query.where(order.after(decode_cursor(page.cursor, order.name, len(order.columns))))
    rows = list(session.execute(query.order_by(*order.order_by()).limit(page.limit + 1)))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor(order.name, sort_values(rows[-1], order)) if more and rows else None
    return rows, cursor


def keyset_merge(
    session: Session, queries: Sequence[sa.Select[Any]], order: Order, page: PageParams
) -> tuple[list[Any], str | None]:
    """``keyset_page`` over the rows of several ``queries`` (disjoint, each selecting the same
    things, the order's columns last) as one list: each query reads its own page, by its own
    index, and the pages are merged in ``order``. For a list that no one indexed condition
    selects: a few rows of one kind shown among many of another."""
    after = None
    if page.cursor is not None:
        after = order.after(decode_cursor(page.cursor, order.name, len(order.columns)))
    rows: list[Any] = []
    for query in queries:
        if after is not None:
            query = query.where(after)
        rows += session.execute(query.order_by(*order.order_by()).limit(page.limit + 1))
    rows.sort(key=lambda row: tuple(sort_values(row, order)), reverse=order.descending)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor(order.name, sort_values(rows[-1], order)) if more and rows else None
    return rows, cursor


def sort_values(row: sa.Row[Any], order: Order) -> list[Any]:
    """The order's column values of ``row``: its last ``len(order.columns)`` entries."""
    width = len(order.columns)
    return list(row[-width:])
