"""The customer list (``/customers``): filters that become ``--where`` clauses (the language of
segments, campaigns and ``crm customers export --where``), server-side sorting and paging, saved
segments, and bulk actions: tag, assign an owner, export, and the segment actions plugins offer
(a messaging campaign)."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..errors import CRMError, ValidationError
from ..services.access import assign_customer
from ..services.customer_list import (
    PER_PAGE,
    SORTS,
    customer_ids,
    delete_segment,
    get_segment,
    list_customers,
    list_segments,
    save_segment,
)
from ..services.customer_view import list_badges
from ..services.customers import update_customer
from ..services.search_fields import search_fields
from .auth import Principal
from .deps import WebError, form_text, page_user, state
from .view import redirect, render

#: the list's own filters: query parameter → how it becomes a clause (value filled in)
SIMPLE = (
    ("tag", "tag={}"),
    ("city", "city={}"),
    ("owner", "assigned={}"),
    ("consent", "consent={}"),
    ("last_from", "last_purchase>={}"),
    ("last_to", "last_purchase<={}"),
    ("spent_min", "spent>={}"),
    ("spent_max", "spent<={}"),
)
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name A–Z",
    "-name": "Name Z–A",
}
MAX_CLAUSES = 20
BULK_LIMIT = 5000


def plugin_filters(uow, lang: str) -> list[dict[str, Any]]:
    """Fields plugins add to ``--where`` that offer choices (``SearchField.choices``): drop-down
    filters."""
    shown = []
    for field in search_fields(uow).values():
        if field.choices is None:
            continue
        label = (field.label_fa if lang == "fa" and field.label_fa else field.label) or field.name
        options = [
            (value, title_fa if lang == "fa" and title_fa else title)
            for value, title, title_fa in field.choices(uow)
        ]
        shown.append({"name": field.name, "label": label, "options": options})
    return shown


def clauses_of(params, choice_names: list[str]) -> list[str]:
    """The clauses a filter form (or a link) asks for: its fields, then the free ``where`` lines."""
    clauses = []
    for name, pattern in SIMPLE:
        value = (params.get(name) or "").strip()[:200]
        if value:
            clauses.append(pattern.format(value))
    for name in choice_names:
        value = (params.get(f"f.{name}") or "").strip()[:200]
        if value:
            clauses.append(f"{name}={value}")
    for line in params.getlist("where"):
        clauses.extend(c.strip()[:200] for c in line.splitlines() if c.strip())
    if len(clauses) > MAX_CLAUSES:
        raise ValidationError(f"at most {MAX_CLAUSES} filters at once", field="where")
    return clauses


def form_of(clauses: list[str], choice_names: list[str]) -> dict[str, Any]:
    """The filter form showing ``clauses`` (a saved segment): known shapes fill their fields, the
    rest ``where``."""
    form: dict[str, Any] = {"where": []}
    for clause in clauses:
        for name, pattern in SIMPLE:
            prefix = pattern[:-2]
            if (
                clause.startswith(prefix)
                and name not in form
                and not clause[len(prefix) :].startswith("=")
            ):
                form[name] = clause[len(prefix) :]
                break
        else:
            field, _, value = clause.partition("=")
            if (
                field in choice_names
                and f"f.{field}" not in form
                and value
                and not field.endswith(("!", "<", ">"))
            ):
                form[f"f.{field}"] = value
            else:
                form["where"].append(clause)
    return form


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/customers")
    def customers(request: Request, user: Principal = Depends(page_user())):
        web = state(request)
        params = request.query_params
        lang = web.language(request, user)
        q = (params.get("q") or "")[:200]
        sort = params.get("sort") if params.get("sort") in SORTS else "newest"
        page = _int(params.get("page"), 1)
        per_page = _int(params.get("per_page"), 50)
        error, status, listing, segment = None, 200, None, None
        badges: dict = {}
        with web.unit(user, readonly=True) as uow:
            filters = plugin_filters(uow, lang)
            names = [f["name"] for f in filters]
            segments = list_segments(uow)
            try:
                if params.get("segment"):
                    segment = get_segment(uow, _int(params.get("segment"), 0))
                    clauses = list(segment.clauses)
                else:
                    clauses = clauses_of(params, names)
                listing = list_customers(
                    uow, clauses, query=q, sort=sort, page=page, per_page=per_page
                )
                badges = list_badges(
                    uow, [row.id for row in listing.rows], lambda plugin: user.can("read", plugin)
                )
            except CRMError as exc:
                clauses = clauses if "clauses" in locals() else []
                error, status = str(exc), 422
        form = form_of(clauses, names)
        actions = [
            (plugin, a)
            for plugin, a in web.contributions.segment_actions
            if user.can(a.access, plugin)
        ]
        with web.unit(user, readonly=True) as uow:
            action_options = {
                a.key: {f.name: f.options(uow) for f in a.fields if f.options} for _p, a in actions
            }
        state_query = _query(clauses, q)
        return render(
            request,
            "customers.html",
            user,
            status=status,
            title="Customers",
            q=q,
            sort=sort,
            sorts=list(SORTS),
            sort_labels=SORT_LABELS,
            listing=listing,
            badges=badges,
            error=error,
            form=form,
            filters=filters,
            segments=segments,
            segment=segment,
            clauses=clauses,
            state_query=state_query,
            page_link=lambda n: (
                "/customers?"
                + _query(
                    clauses, q, sort=sort, page=n, per_page=listing.per_page if listing else 50
                )
            ),
            sort_link=lambda key: "/customers?" + _query(clauses, q, sort=key),
            per_pages=PER_PAGE,
            actions=actions,
            action_options=action_options,
            can_write=user.can("write"),
            can_export=user.can("manage"),
        )

    @r.post("/customers/segments")
    async def create_segment(request: Request, user: Principal = Depends(page_user("write"))):
        form = await request.form()
        clauses = [c for c in form.getlist("clause") if isinstance(c, str) and c.strip()][
            :MAX_CLAUSES
        ]
        name = form_text(form, "name", limit=200)

        def store() -> int:
            with state(request).unit(user) as uow:
                return save_segment(uow, name, clauses).id

        sid = await run_in_threadpool(store)
        return redirect(f"/customers?segment={sid}", "saved")

    @r.post("/customers/segments/{segment_id:int}/delete")
    async def remove_segment(
        request: Request, segment_id: int, user: Principal = Depends(page_user("write"))
    ):
        def store() -> None:
            with state(request).unit(user) as uow:
                delete_segment(uow, segment_id)

        await run_in_threadpool(store)
        return redirect("/customers", "saved")

    @r.post("/customers/bulk")
    async def bulk(request: Request, user: Principal = Depends(page_user("write"))):
        form = await request.form()
        action = form_text(form, "action", limit=100)
        clauses = [c for c in form.getlist("clause") if isinstance(c, str) and c.strip()][
            :MAX_CLAUSES
        ]
        q = form_text(form, "q", limit=200)
        chosen = [int(v) for v in form.getlist("id") if isinstance(v, str) and v.isdigit()][
            :BULK_LIMIT
        ]
        everyone = form_text(form, "scope") == "all"
        back = "/customers?" + _query(clauses, q)
        web = state(request)
        if action == "export":
            return _export(request, user, clauses, q)
        if action.startswith("plugin:"):
            message = await run_in_threadpool(
                _segment_action, request, user, action[7:], clauses, q, form
            )
            return render(request, "done.html", user, title="Customers", message=message, back=back)
        if action not in ("tag", "owner"):
            raise WebError(422, f"unknown action {action!r}", field="action")
        value = form_text(form, "value", limit=100)
        if not value:
            raise WebError(422, "give the tag or the owner first", field="value")
        if not chosen and not everyone:
            raise WebError(
                422, "tick the customers first, or choose every customer in the list", field="id"
            )

        def store() -> int:
            with web.unit(user) as uow:
                if everyone:
                    ids = list(
                        uow.session.scalars(customer_ids(uow, clauses, q).limit(BULK_LIMIT + 1))
                    )
                    if len(ids) > BULK_LIMIT:
                        raise ValidationError(
                            f"the list has more than {BULK_LIMIT:,} customers: narrow it first",
                            field="scope",
                        )
                else:
                    ids = chosen
                for cid in ids:
                    if action == "tag":
                        update_customer(uow, cid, add_tags=[value])
                    else:  # the record rules' owner, as `crm customers assign --user`
                        assign_customer(uow, cid, user=value)
                return len(ids)

        await run_in_threadpool(store)
        return redirect(back, "saved")

    return r


def _segment_action(
    request: Request, user: Principal, key: str, clauses: list[str], q: str, form
) -> str:
    web = state(request)
    found = [(p, a) for p, a in web.contributions.segment_actions if a.key == key]
    if not found:
        raise WebError(422, f"unknown action {key!r}", field="action")
    plugin, action = found[0]
    if not user.can(action.access, plugin):
        raise WebError(403, "You may not do this.")
    if q.strip():
        raise WebError(
            422, "a segment is chosen by filters only: clear the search text first", field="q"
        )
    values = {f.name: form_text(form, f"{key}.{f.name}", limit=300) for f in action.fields}
    missing = [f.name for f in action.fields if f.required and not values[f.name]]
    if missing:
        raise WebError(422, f"fill in {', '.join(missing)}", field=missing[0])
    with web.unit(user) as uow:
        return action.run(uow, clauses, values)


def _export(request: Request, user: Principal, clauses: list[str], q: str):
    """The list as CSV through the kernel's export (``crm customers export --where`` gives the same
    rows)."""
    from ..importing.export import customer_rows

    if not user.can("manage"):
        raise WebError(403, "You may not do this.")
    if q.strip():
        raise WebError(
            422, "an export is chosen by filters only: clear the search text first", field="q"
        )
    web = state(request)
    lang = web.language(request, user)
    with web.unit(user) as uow:
        headers, rows = customer_rows(
            uow,
            persian=lang == "fa",
            calendar="jalali" if lang == "fa" else "gregorian",
            where=clauses,
        )
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow(headers)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        uow.audit("export", "customer", None, {"where": clauses, "rows": count, "via": "web"})
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )


def _query(clauses: list[str], q: str, **extra: Any) -> str:
    pairs = [("where", c) for c in clauses] + ([("q", q)] if q else [])
    pairs += [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
    return urlencode(pairs)


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 10**6))
    except ValueError:
        return default
