"""Cursor pagination of the API's lists: ``?limit=N`` and ``?cursor=…`` in, the page and a ``Link:
<…>; rel="next"`` header out (absent on the last page).

A cursor is opaque and stable: it names the sort key of the last item served (keyset pagination),
signed with the site's key and bound to the list it came from, so records added or removed meanwhile
never make a page repeat or skip an item that was there before; a changed or foreign cursor is
refused with 400.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Sequence

from sqlalchemy import and_, or_

from .deps import WebError

#: the cursor parameter's description in the OpenAPI schema
CURSOR_HELP = (
    "the `next` cursor of the previous page (from its `Link` header); omit for the first page"
)
LINK_HEADER = {
    "Link": {
        "description": 'the next page: `<URL>; rel="next"` (none on the last)',
        "schema": {"type": "string"},
    }
}


def _plain(value: Any) -> Any:
    return {"dt": value.isoformat()} if isinstance(value, datetime) else value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dt"}:
        return datetime.fromisoformat(value["dt"])
    return value


def _serializer(web):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(web.secret, salt="crmcore.web.cursor")


def encode_cursor(web, scope: str, key: Sequence[Any]) -> str:
    return _serializer(web).dumps({"s": scope, "k": [_plain(v) for v in key]})


def decode_cursor(web, scope: str, cursor: str | None) -> list[Any] | None:
    """The key a cursor names, ``None`` without one; 400 for a cursor that is not this list's."""
    if not cursor:
        return None
    from itsdangerous import BadData

    try:
        data = _serializer(web).loads(cursor)
        if (
            not isinstance(data, dict)
            or data.get("s") != scope
            or not isinstance(data.get("k"), list)
        ):
            raise BadData("foreign cursor")
        return [_typed(v) for v in data["k"]]
    except (BadData, ValueError, TypeError):
        raise WebError(
            400, "the cursor is not one this list gave (start again without it)", field="cursor"
        ) from None


def after(order: Sequence[tuple[Any, bool]], key: Sequence[Any]):
    """Rows after ``key`` in ``order`` (``(column, descending)`` pairs, the last one unique)."""
    terms = []
    for i, (column, descending) in enumerate(order):
        equal = [c == k for (c, _d), k in zip(order[:i], key[:i])]
        terms.append(and_(*equal, column < key[i] if descending else column > key[i]))
    return or_(*terms)


def page_of_query(
    session,
    stmt,
    order: Sequence[tuple[Any, bool]],
    limit: int,
    key: list[Any] | None,
    row_key: Callable[[Any], Sequence[Any]],
) -> tuple[list[Any], list[Any] | None]:
    """One page of ``stmt`` (a select of ORM rows) sorted by ``order`` after ``key``:
    ``(rows, next key)``."""
    if key is not None:
        if len(key) != len(order):
            raise WebError(
                400, "the cursor is not one this list gave (start again without it)", field="cursor"
            )
        stmt = stmt.where(after(order, key))
    stmt = stmt.order_by(*[c.desc() if d else c.asc() for c, d in order]).limit(limit + 1)
    rows = list(session.scalars(stmt))
    return page_of_list(rows, limit, None, row_key)


def page_of_list(
    items: Sequence[Any],
    limit: int,
    key: list[Any] | None,
    item_key: Callable[[Any], Sequence[Any]],
) -> tuple[list[Any], list[Any] | None]:
    """One page of ``items`` (in ``item_key`` order) after ``key``: ``(items, next key)``."""
    if key is not None:
        items = [i for i in items if list(item_key(i)) > key]
    page = list(items[:limit])
    more = len(items) > limit
    return page, (list(item_key(page[-1])) if more and page else None)


def next_url(request, web, scope: str, key: list[Any] | None) -> str | None:
    """The URL of the page after ``key`` (``None`` when there is no next page)."""
    if key is None:
        return None
    return str(request.url.include_query_params(cursor=encode_cursor(web, scope, key)))


def next_link(request, web, scope: str, key: list[Any] | None) -> dict[str, str]:
    """The ``Link`` header to the page after ``key`` (none when there is no next page)."""
    url = next_url(request, web, scope, key)
    return {"Link": f'<{url}>; rel="next"'} if url else {}
