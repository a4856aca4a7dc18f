"""The pipeline's JSON API (``/api/p/pipeline/…``, in the OpenAPI description): deals and their
actions, leads (convert, disqualify), the forecast and the targets per rep and month. Each action
calls the service function the CLI calls; a refusal is ``422 {"error", "field"}`` with the CLI's
message and nothing stored."""

from __future__ import annotations

from typing import Any

from crmcore.api import ValidationError

from . import service


def _body(ctx, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    body = ctx.body if ctx.body is not None else {}
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", field="body")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r} (known: {', '.join(allowed)})", field=unknown[0]
        )
    for name in required:
        if body.get(name) in (None, ""):
            raise ValidationError(f"{name} is required", field=name)
    for name, value in body.items():
        if value is not None and not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValidationError(f"{name} must be a string or a whole number", field=name)
    return {k: (None if v is None else str(v)) for k, v in body.items()}


def _deal(ctx, deal, *, history: bool = True) -> dict[str, Any]:
    from crmcore.api import Customer

    from .sales import purchase_of

    uow = ctx.uow
    name = uow.session.get(Customer, deal.customer_id).display_name
    data = service.deal_to_dict(deal, customer_name=name, calendar="jalali", tz=uow.app.timezone)
    if history:
        data["history"] = [
            service.history_to_dict(h, calendar="jalali", tz=uow.app.timezone)
            for h in service.deal_history(uow, deal)
        ]
        data["activities"] = [
            {"at": a.at.isoformat(), "kind": a.kind, "note": a.note, "actor": a.actor}
            for a in service.deal_activities(uow, deal)
        ]
        purchase = purchase_of(uow, deal)
        data["purchase_id"] = purchase.id if purchase else None
    return data


def list_deals(ctx):
    q = ctx.query
    deals = service.list_deals(
        ctx.uow,
        status=q.get("status") or "open",
        pipeline=q.get("pipeline") or None,
        stage=q.get("stage") or None,
        owner=q.get("owner") or None,
        customer=q.get("customer") or None,
    )
    return [_deal(ctx, d, history=False) for d in deals]


def show_deal(ctx):
    return _deal(ctx, service.get_deal(ctx.uow, ctx.path_params["deal_id"]))


def update_deal(ctx):
    body = _body(ctx, service.UPDATABLE)
    changed = service.update_deal(ctx.uow, ctx.path_params["deal_id"], **body)
    deal = service.get_deal(ctx.uow, ctx.path_params["deal_id"])
    return {**_deal(ctx, deal), "changed": changed}


def move_deal(ctx):
    body = _body(ctx, ("stage", "note"), ("stage",))
    return _deal(
        ctx,
        service.move_deal(
            ctx.uow, ctx.path_params["deal_id"], body["stage"], note=body.get("note")
        ),
    )


def win_deal(ctx):
    body = _body(ctx, ("amount", "reason", "note"))
    return _deal(ctx, service.win_deal(ctx.uow, ctx.path_params["deal_id"], **body))


def lose_deal(ctx):
    body = _body(ctx, ("reason", "note"))
    return _deal(
        ctx,
        service.lose_deal(
            ctx.uow, ctx.path_params["deal_id"], reason=body.get("reason"), note=body.get("note")
        ),
    )


def reopen_deal(ctx):
    body = _body(ctx, ("stage", "note"))
    return _deal(ctx, service.reopen_deal(ctx.uow, ctx.path_params["deal_id"], **body))


def log_activity(ctx):
    body = _body(ctx, ("kind", "note", "next_activity", "next_activity_on"))
    body.setdefault("kind", "note")
    activity = service.log_activity(ctx.uow, ctx.path_params["deal_id"], **body)
    return {
        "id": activity.id,
        "deal_id": activity.deal_id,
        "at": activity.at.isoformat(),
        "kind": activity.kind,
        "note": activity.note,
        "actor": activity.actor,
    }


def list_leads(ctx):
    q = ctx.query
    leads = service.list_leads(
        ctx.uow,
        status=q.get("status") or "new",
        source=q.get("source") or None,
        owner=q.get("owner") or None,
    )
    return [service.lead_to_dict(ctx.uow, lead) for lead in leads]


def show_lead(ctx):
    return service.lead_to_dict(ctx.uow, service.get_lead(ctx.uow, ctx.path_params["lead_id"]))


def convert_lead(ctx):
    body = _body(
        ctx,
        (
            "customer",
            "title",
            "amount",
            "currency",
            "expected_close",
            "pipeline",
            "stage",
            "probability",
            "owner",
        ),
    )
    lead, deal, created = service.convert_lead(ctx.uow, ctx.path_params["lead_id"], **body)
    return {**_deal(ctx, deal), "customer_created": created, "lead_id": lead.id}


def disqualify_lead(ctx):
    body = _body(ctx, ("reason",), ("reason",))
    lead = service.disqualify_lead(ctx.uow, ctx.path_params["lead_id"], reason=body["reason"])
    return service.lead_to_dict(ctx.uow, lead)


def forecast(ctx):
    from .web_pages import forecast_rows

    return forecast_rows(ctx.uow, ctx.query.get("rep") or None)


def targets(ctx):
    from .web_pages import target_rows

    return target_rows(ctx.uow, ctx.query.get("rep") or None)


def set_target(ctx):
    body = _body(ctx, ("rep", "period", "amount", "currency"), ("rep", "period", "amount"))
    target = service.set_target(
        ctx.uow, body["rep"], body["period"], body["amount"], currency=body.get("currency")
    )
    return service.target_to_dict(target)


def routes():
    from crmcore.api import WebRoute

    deal = "/deals/{deal_id:int}"
    lead = "/leads/{lead_id:int}"
    post = {"methods": ("POST",), "access": "write"}
    return [
        WebRoute("/deals", list_deals, summary="Deals (status, pipeline, stage, owner, customer)"),
        WebRoute(deal, show_deal, summary="A deal with its stage history and activities"),
        WebRoute(
            deal,
            update_deal,
            methods=("PATCH",),
            access="write",
            summary="Change a deal (crm pipeline deals update)",
        ),
        WebRoute(f"{deal}/move", move_deal, summary="Move a deal to an open stage", **post),
        WebRoute(f"{deal}/win", win_deal, summary="Win a deal (amount, reason)", **post),
        WebRoute(f"{deal}/lose", lose_deal, summary="Lose a deal (reason)", **post),
        WebRoute(f"{deal}/reopen", reopen_deal, summary="Reopen a won or lost deal", **post),
        WebRoute(f"{deal}/activities", log_activity, summary="Log an activity on a deal", **post),
        WebRoute("/leads", list_leads, summary="Leads (status, source, owner)"),
        WebRoute(lead, show_lead, summary="A lead"),
        WebRoute(f"{lead}/convert", convert_lead, summary="Convert a lead into a deal", **post),
        WebRoute(f"{lead}/disqualify", disqualify_lead, summary="Disqualify a lead", **post),
        WebRoute("/forecast", forecast, summary="Open deals per rep and Jalali month"),
        WebRoute("/targets", targets, summary="Targets against won deals per rep and period"),
        WebRoute(
            "/targets",
            set_target,
            methods=("PUT",),
            access="manage",
            summary="Set a rep's target for a Jalali or Gregorian month or year",
        ),
    ]
