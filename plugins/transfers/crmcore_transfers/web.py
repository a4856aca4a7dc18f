"""What transfers adds to ``crm web`` (issue 28): a member's transfers page (send to someone of
their family group with the limits, fee and what is left shown before submitting; accept, decline
or cancel pending ones; the history with status), the family group's admin, and the same actions
under ``/api/p/transfers/``. Every action calls the service functions of ``crm transfers`` (same
refusals); a refusal is shown beside its field and stores nothing. Built on loyalty's page kit."""

from __future__ import annotations

from typing import Any

from crmcore.api import Customer, NotFound, check_customer, ui

PREFIX = "/p/transfers"
L = ui.Label
STATUS = {
    "pending": (L("pending", "در انتظار"), "warning"),
    "completed": (L("completed", "انجام‌شده"), "success"),
    "declined": (L("declined", "ردشده"), "danger"),
    "cancelled": (L("cancelled", "لغوشده"), "neutral"),
    "expired": (L("expired", "منقضی"), "neutral"),
    "reversed": (L("reversed", "برگشت‌خورده"), "danger"),
}


def _customer(ctx, cid: Any, access: str = "read", field: str = "customer") -> Customer:
    customer = ctx.uow.session.get(Customer, cid) if isinstance(cid, int) else None
    if customer is None or not customer.active:
        raise NotFound(f"no customer with id {cid}", field=field)
    check_customer(ctx.uow, customer, access)
    return customer


def _badge(status: str) -> ui.Badge:
    label, tone = STATUS.get(status, (L(status, status), "neutral"))
    return ui.Badge(label, tone=tone)


def _names(uow, ids) -> dict[int, str]:
    from sqlalchemy import select

    ids = sorted(set(ids))
    return (
        {
            c.id: c.display_name
            for c in uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))
        }
        if ids
        else {}
    )


def history_table(ctx, customer_id: int | None, status: str | None = None, limit: int = 50):
    from .service import list_transfers

    rows = list_transfers(ctx.uow, customer_id=customer_id, status=status, limit=limit)
    names = _names(ctx.uow, [t.sender_id for t in rows] + [t.recipient_id for t in rows])

    def who(cid):
        return ui.Link(names.get(cid, str(cid)), f"{PREFIX}/members/{cid}")

    return ui.Table(
        columns=[
            ui.Column("id", L("No.", "شماره"), "number"),
            ui.Column("at", L("Requested", "درخواست"), "moment"),
            ui.Column("from", L("From", "از"), "link"),
            ui.Column("to", L("To", "به"), "link"),
            ui.Column("points", L("Points", "امتیاز"), "number"),
            ui.Column("fee", L("Fee", "کارمزد"), "number"),
            ui.Column("status", L("Status", "وضعیت"), "badge"),
        ],
        rows=[
            {
                "id": t.id,
                "at": t.created_at,
                "from": who(t.sender_id),
                "to": who(t.recipient_id),
                "points": t.points,
                "fee": t.fee or None,
                "status": _badge(t.status),
            }
            for t in rows
        ],
        title=L("History", "سابقه"),
        empty=L("No transfers yet.", "هنوز انتقالی نیست."),
    )


def index_page(ctx):
    """Find a member (by phone or name) to open their transfers; every transfer, newest first."""
    from crmcore_loyalty.api import Block, Form, Input, page
    from fastapi.responses import RedirectResponse

    from crmcore.api import customer_clause, find_customers

    q = (ctx.query.get("q") or "").strip()[:100]
    status = ctx.query.get("status") if ctx.query.get("status") in STATUS else None
    find = Form(
        f"{PREFIX}/",
        [Input("q", L("Member's phone or name", "تلفن یا نام عضو"), "tel", q, required=True)],
        L("Find", "پیدا کن"),
        method="get",
        key="find",
    )
    blocks = [Block(L("A member's transfers", "انتقال‌های یک عضو"), forms=[find])]
    if q:
        found = find_customers(ctx.uow, q, restrict=customer_clause(ctx.uow), limit=10)
        if len(found) == 1:
            return RedirectResponse(f"{PREFIX}/members/{found[0].customer.id}", 303)
        blocks[0].items = [
            ui.Table(
                columns=[ui.Column("name", L("Member", "عضو"), "link")],
                rows=[
                    {"name": ui.Link(m.customer.display_name, f"{PREFIX}/members/{m.customer.id}")}
                    for m in found
                ],
                empty=L("No member matches.", "عضوی پیدا نشد."),
            )
        ]
    choose = Form(
        f"{PREFIX}/",
        [
            Input(
                "status",
                L("Status", "وضعیت"),
                "select",
                status or "",
                options=[("", L("All", "همه"))] + [(k, v[0]) for k, v in STATUS.items()],
            )
        ],
        L("Show", "نمایش"),
        method="get",
        key="status",
    )
    blocks.append(Block(None, [history_table(ctx, None, status, 100)], forms=[choose], wide=True))
    return page(ctx, L("Point transfers", "انتقال امتیاز"), blocks)


def _policy_or_none(ctx):
    from crmcore.api import CRMError

    from .service import active_policy

    try:
        return active_policy(ctx.uow), None
    except CRMError as exc:
        return None, exc


def _family_ids(ctx, customer_id: int) -> tuple[Any, list]:
    from . import family as fam

    member = fam.membership(ctx.uow, customer_id)
    if member is None:
        return None, []
    return member, fam.members(ctx.uow, member.family_id)


def recipient_options(ctx, sender_id: int) -> list[tuple[str, Any]]:
    """Whom the sender may choose: their family group, then the recipients the club approved."""
    from .recipients import list_recipients

    _, group = _family_ids(ctx, sender_id)
    ids = [m.customer_id for m in group if m.customer_id != sender_id]
    approved = [
        r.recipient_id
        for r in list_recipients(ctx.uow, sender_id=sender_id, status="approved")
        if r.recipient_id not in ids
    ]
    names = _names(ctx.uow, ids + approved)
    return [
        (str(i), L(f"{names.get(i, i)} (family)", f"{names.get(i, i)} (خانواده)")) for i in ids
    ] + [
        (str(i), L(f"{names.get(i, i)} (approved)", f"{names.get(i, i)} (تأییدشده)"))
        for i in approved
    ]


def limit_label(limit, calendar: str) -> ui.Label:
    """A period limit in both languages: "4 transfers sent per Jalali month" /
    "حداکثر ۴ انتقال …"."""
    jalali = limit.period == "jalali_month" or (limit.period == "month" and calendar == "jalali")
    period = "هفته" if limit.period == "week" else ("ماه شمسی" if jalali else "ماه میلادی")
    caps = [
        f"{limit.max_count} انتقال" if limit.max_count else "",
        f"{limit.max_points:,} امتیاز".replace(",", "٬") if limit.max_points else "",
    ]
    way = "ارسالی" if limit.direction == "sent" else "دریافتی"
    return L(
        limit.describe(calendar), f"حداکثر {' و '.join(c for c in caps if c)} {way} در هر {period}"
    )


def limits_items(ctx, policy, customer_id: int) -> list:
    """What the sender may send, shown before they submit: bounds, fee, what each limit leaves."""
    from crmcore_loyalty import api as loyalty

    from .limits import allowance
    from .service import policy_calendar

    fee = policy.describe_fee()
    facts = [
        ui.Field(
            L("Points you have", "امتیاز شما"), loyalty.balance(ctx.uow, customer_id), kind="number"
        ),
        ui.Field(L("Smallest transfer", "کمترین انتقال"), policy.min_points, kind="number"),
        ui.Field(L("Largest transfer", "بیشترین انتقال"), policy.max_points, kind="number"),
        ui.Field(
            L("Fee", "کارمزد"),
            L(
                fee,
                fee.replace("points", "امتیاز")
                .replace("none", "ندارد")
                .replace("rounded up", "گرد به بالا")
                .replace("%", "٪"),
            ),
        ),
        ui.Field(
            L("Recipient must accept", "پذیرش گیرنده لازم است"),
            L(
                f"yes, within {policy.accept_within_days} days",
                f"بله، تا {policy.accept_within_days} روز",
            )
            if policy.requires_acceptance
            else L("no", "خیر"),
        ),
    ]
    from datetime import datetime

    calendar = policy_calendar(ctx.uow, policy)
    rows = allowance(ctx.uow, policy, calendar, customer_id, ctx.uow.now())
    items: list = [ui.FieldList(facts)]
    if rows:
        items.append(
            ui.Table(
                columns=[
                    ui.Column("limit", L("Limit", "سقف"), "text"),
                    ui.Column("used", L("Used", "مصرف‌شده"), "number"),
                    ui.Column("left", L("Points left", "امتیاز باقی‌مانده"), "number"),
                    ui.Column("count_left", L("Transfers left", "انتقال باقی‌مانده"), "number"),
                    ui.Column("until", L("Renews on", "تازه می‌شود در"), "moment"),
                ],
                rows=[
                    {
                        "limit": limit_label(limit, calendar),
                        "used": r["points"],
                        "left": r["points_left"],
                        "count_left": r["count_left"],
                        "until": datetime.fromisoformat(r["until"]),
                    }
                    for limit, r in zip(policy.limits, rows)
                ],
                title=L("Your limits now", "سقف‌های شما در این دوره"),
            )
        )
    return items


def send_form(ctx, sender_id: int, values=None, refusal=None):
    from crmcore_loyalty.api import Form, Input

    from .service import active_policy

    options = recipient_options(ctx, sender_id)
    policy = active_policy(ctx.uow)
    inputs = [
        Input(
            "recipient",
            L("Recipient", "گیرنده"),
            "select",
            (values or {}).get("recipient", ""),
            options=[("", L("Choose…", "انتخاب کنید…"))] + options,
            required="any" not in policy.recipients,
            hint=None
            if options
            else L("Nobody in the family group yet.", "هنوز کسی در گروه خانواده نیست."),
        )
    ]
    if "any" in policy.recipients:
        inputs.append(
            Input(
                "other",
                L("…or another member (phone or id)", "…یا عضو دیگر (تلفن یا شماره)"),
                "tel",
                (values or {}).get("other", ""),
            )
        )
    inputs += [
        Input(
            "points",
            L("Points to give", "امتیاز انتقالی"),
            "number",
            (values or {}).get("points", ""),
            required=True,
        ),
        Input(
            "note",
            L("Message (optional)", "پیام (اختیاری)"),
            "text",
            (values or {}).get("note", ""),
        ),
        Input("key", "", "hidden", (values or {}).get("key") or _key()),
    ]
    form = Form(
        f"{PREFIX}/members/{sender_id}/send",
        inputs,
        L("Send", "ارسال"),
        tone="success",
        key="send",
        title=L("Give points", "انتقال امتیاز"),
    )
    if refusal is not None:
        if refusal.field in ("recipient", "other"):
            refusal.field = "other" if (values or {}).get("other") else "recipient"
        form.refuse(refusal)
    return form


def _key() -> str:
    import secrets

    return f"web-transfer-{secrets.token_hex(8)}"


def member_page(
    ctx, *, values=None, refusal=None, status: int = 200, action_error=None, family_refusal=None
):
    from crmcore_loyalty.api import Block, Form, Input, page

    from .service import list_transfers

    customer = _customer(ctx, ctx.path_params.get("customer_id"))
    policy, off = _policy_or_none(ctx)
    may_write = ctx.user.can("write", "transfers")
    blocks = []
    send_block = Block(L("Give points", "انتقال امتیاز"))
    if policy is None:
        send_block.items = [ui.Badge(L(off.message, off.message), "warning")]
    else:
        send_block.items = limits_items(ctx, policy, customer.id)
        if may_write:
            send_block.forms = [send_form(ctx, customer.id, values, refusal)]
            send_block.title = None
    blocks.append(send_block)
    pending = [
        t for t in list_transfers(ctx.uow, customer_id=customer.id, status="pending", limit=50)
    ]
    if pending:
        names = _names(ctx.uow, [t.sender_id for t in pending] + [t.recipient_id for t in pending])
        forms = []
        for t in pending:
            incoming = t.recipient_id == customer.id
            other = names.get(t.sender_id if incoming else t.recipient_id)
            text = (
                L(
                    f"#{t.id}: {t.points:,} points from {other}",
                    f"#{t.id}: {t.points} امتیاز از {other}",
                )
                if incoming
                else L(
                    f"#{t.id}: {t.points:,} points to {other}",
                    f"#{t.id}: {t.points} امتیاز به {other}",
                )
            )
            actions = (
                [
                    ("accept", L("Accept", "پذیرش"), "success"),
                    ("decline", L("Decline", "رد"), "danger"),
                ]
                if incoming
                else [("cancel", L("Cancel", "لغو"), "neutral")]
            )
            for i, (name, label, tone) in enumerate(actions if may_write else ()):
                forms.append(
                    Form(
                        f"{PREFIX}/transfers/{t.id}/{name}",
                        [Input("back", "", "hidden", customer.id)],
                        L(f"{label.en} #{t.id}", f"{label.fa} #{t.id}"),
                        tone=tone,
                        key=f"{name}-{t.id}",
                        note=None if i else text,
                    )
                )
        block = Block(
            L("Waiting for an answer", "در انتظار پاسخ"),
            forms=forms,
            items=[] if may_write else [history_table(ctx, customer.id, "pending")],
        )
        if action_error:
            block.forms.insert(0, _error_form(action_error))
        blocks.append(block)
    elif action_error:
        blocks.append(Block(None, forms=[_error_form(action_error)]))
    blocks.append(family_block(ctx, customer, family_refusal))
    blocks.append(Block(None, [history_table(ctx, customer.id)], wide=True))
    return page(
        ctx,
        L(f"Transfers: {customer.display_name}", f"انتقال امتیاز: {customer.display_name}"),
        blocks,
        status=status,
    )


def _error_form(refusal):
    from crmcore_loyalty.api import Form

    form = Form(f"{PREFIX}/", [], L("All transfers", "همه انتقال‌ها"), method="get", key="refused")
    form.refuse(refusal)
    return form


def family_block(ctx, customer, refusal=None):
    """The family group's admin: create one, invite, answer an invitation, leave."""
    from crmcore_loyalty.api import Block, Form, Input
    from sqlalchemy import select

    from . import family as fam
    from .models import FamilyInvitation

    may_write = ctx.user.can("write", "transfers")
    member, group = _family_ids(ctx, customer.id)
    block = Block(L("Family group", "گروه خانواده"))
    base = f"{PREFIX}/members/{customer.id}/family"
    if member is not None:
        family = fam.get_family(ctx.uow, member.family_id)
        names = _names(ctx.uow, [m.customer_id for m in group])
        block.title = L(f"Family group «{family.name}»", f"گروه خانواده «{family.name}»")
        block.items = [
            ui.Table(
                columns=[
                    ui.Column("name", L("Member", "عضو"), "link"),
                    ui.Column("role", L("Role", "نقش"), "badge"),
                    ui.Column("joined", L("Joined", "پیوستن"), "moment"),
                ],
                rows=[
                    {
                        "name": ui.Link(
                            names.get(m.customer_id, str(m.customer_id)),
                            f"{PREFIX}/members/{m.customer_id}",
                        ),
                        "role": ui.Badge(
                            L("owner", "مالک") if m.role == "owner" else L("member", "عضو"),
                            "info" if m.role == "owner" else "neutral",
                        ),
                        "joined": m.joined_at,
                    }
                    for m in group
                ],
            )
        ]
        if may_write:
            block.forms = [
                Form(
                    f"{base}/invite",
                    [
                        Input(
                            "invitee",
                            L("Invite (phone or id)", "دعوت (تلفن یا شماره)"),
                            "tel",
                            required=True,
                            also=("customer",),
                        )
                    ],
                    L("Invite", "دعوت"),
                    key="invite",
                ),
                Form(
                    f"{base}/leave",
                    [],
                    L("Leave the group", "ترک گروه"),
                    tone="danger",
                    key="leave",
                ),
            ]
    else:
        invitations = list(
            ctx.uow.session.scalars(
                select(FamilyInvitation).where(
                    FamilyInvitation.customer_id == customer.id, FamilyInvitation.status == "open"
                )
            )
        )
        if may_write:
            for inv in invitations:
                family = fam.get_family(ctx.uow, inv.family_id)
                for name, label, tone in (
                    ("accept", L("Join", "پیوستن"), "success"),
                    ("decline", L("Decline", "رد"), "danger"),
                ):
                    block.forms.append(
                        Form(
                            f"{base}/{name}",
                            [Input("family", "", "hidden", inv.family_id)],
                            L(f"{label.en}: «{family.name}»", f"{label.fa}: «{family.name}»"),
                            tone=tone,
                            key=f"family-{name}-{inv.family_id}",
                        )
                    )
            block.forms.append(
                Form(
                    f"{base}/create",
                    [Input("name", L("Group name", "نام گروه"), "text", required=True)],
                    L("Create a family group", "ساختن گروه خانواده"),
                    key="create",
                )
            )
        if not block.forms:
            block.items = [ui.Badge(L("Not in a family group.", "عضو گروه خانواده‌ای نیست."))]
    if refusal is not None:
        target = next(
            (
                f
                for f in block.forms
                if any(i.name == refusal.field or refusal.field in i.also for i in f.inputs)
            ),
            None,
        )
        (target or (block.forms[0] if block.forms else _error_form(refusal))).refuse(refusal)
        if not block.forms:
            block.forms = [_error_form(refusal)]
    return block


def _sender_and_points(ctx, sender_id: int):
    from crmcore_loyalty.api import form_value

    from crmcore.api import ValidationError, resolve_customer

    from .cli import parse_points

    other = form_value(ctx, "other", 100)
    chosen = form_value(ctx, "recipient", 20)
    if other:
        recipient = resolve_customer(ctx.uow.session, other)
    elif chosen.isdigit():
        recipient = _customer(ctx, int(chosen), field="recipient")
    else:
        raise ValidationError("choose whom to give the points to", field="recipient")
    check_customer(ctx.uow, recipient)
    return recipient.id, parse_points(form_value(ctx, "points", 30))


def send_post(ctx):
    """The same :func:`service.send` as ``crm transfers send``."""
    from crmcore_loyalty.api import attempt, form_value, refused_status
    from fastapi.responses import RedirectResponse

    from .service import send

    sender = _customer(ctx, ctx.path_params.get("customer_id"), "write", field="sender")

    def run():
        recipient, points = _sender_and_points(ctx, sender.id)
        return send(
            ctx.uow,
            sender.id,
            recipient,
            points,
            key=form_value(ctx, "key", 200) or None,
            note=form_value(ctx, "note", 500) or None,
        )

    _, refusal = attempt(ctx.uow, run)
    if refusal is not None:
        return member_page(ctx, values=ctx.body, refusal=refusal, status=refused_status(refusal))
    return RedirectResponse(f"{PREFIX}/members/{sender.id}?ok=saved", 303)


SETTLE = ("accept", "decline", "cancel")
FAMILY = ("create", "invite", "accept", "decline", "leave")


def _action(ctx, allowed: tuple[str, ...]) -> str:
    action = ctx.path_params.get("action")
    if action not in allowed:
        raise NotFound(f"no action {action!r} (one of: {', '.join(allowed)})", field="action")
    return action


def settle_post(ctx):
    """Accept, decline or cancel a pending transfer (``crm transfers accept|decline|cancel``)."""
    from crmcore_loyalty.api import attempt, form_value, refused_status
    from fastapi.responses import RedirectResponse

    from . import service

    action = _action(ctx, SETTLE)
    transfer = service.get_transfer(ctx.uow, ctx.path_params["transfer_id"])
    party = transfer.recipient_id if action in ("accept", "decline") else transfer.sender_id
    _customer(ctx, party, "write")
    back = form_value(ctx, "back", 20)
    back_id = int(back) if back.isdigit() else party
    _, refusal = attempt(ctx.uow, lambda: getattr(service, action)(ctx.uow, transfer.id))
    if refusal is not None:
        ctx.path_params = {"customer_id": back_id}
        return member_page(ctx, action_error=refusal, status=refused_status(refusal))
    return RedirectResponse(f"{PREFIX}/members/{back_id}?ok=saved", 303)


def family_post(ctx):
    """``crm transfers family create|invite|accept|decline|leave`` for the member of the page."""
    from crmcore_loyalty import api as loyalty
    from crmcore_loyalty.api import attempt, form_value, refused_status
    from fastapi.responses import RedirectResponse

    from crmcore.api import resolve_customer

    from . import family as fam
    from .policy import Policy

    action = _action(ctx, FAMILY)
    customer = _customer(ctx, ctx.path_params.get("customer_id"), "write")

    def family_id():
        raw = form_value(ctx, "family", 20)
        return int(raw) if raw.isdigit() else None

    def run():
        if action == "create":
            return fam.create(ctx.uow, customer.id, form_value(ctx, "name", 200))
        if action == "invite":
            invitee = resolve_customer(ctx.uow.session, form_value(ctx, "invitee", 100))
            check_customer(ctx.uow, invitee)
            return fam.invite(ctx.uow, customer.id, invitee.id)
        if action == "accept":
            policy = loyalty.active_program(ctx.uow).sections.get("transfers") or Policy()
            return fam.accept(
                ctx.uow, customer.id, family_id(), max_members=policy.family_max_members
            )
        if action == "decline":
            return fam.decline(ctx.uow, customer.id, family_id())
        return fam.leave(ctx.uow, customer.id)

    _, refusal = attempt(ctx.uow, run)
    if refusal is not None:
        return member_page(ctx, family_refusal=refusal, status=refused_status(refusal))
    return RedirectResponse(f"{PREFIX}/members/{customer.id}?ok=saved", 303)


# -- the JSON API -------------------------------------------------------------------------------
def _body(ctx, name):
    return ctx.body.get(name) if isinstance(ctx.body, dict) else None


def api_list(ctx):
    from crmcore.api import ValidationError, resolve_customer

    from .service import list_transfers, transfer_to_dict

    cid = None
    if ctx.query.get("customer"):
        c = resolve_customer(ctx.uow.session, ctx.query["customer"][:100])
        check_customer(ctx.uow, c)
        cid = c.id
    status = ctx.query.get("status") or None
    if status is not None and status not in STATUS:
        raise ValidationError(f"status is one of {', '.join(STATUS)}", field="status")
    return [
        transfer_to_dict(t)
        for t in list_transfers(ctx.uow, customer_id=cid, status=status, limit=100)
    ]


def api_show(ctx):
    from .service import get_transfer, transfer_to_dict

    t = get_transfer(ctx.uow, ctx.path_params["transfer_id"])
    _customer(ctx, t.sender_id)
    return transfer_to_dict(t, history=True)


def api_send(ctx):
    from crmcore.api import ValidationError

    from .cli import parse_points
    from .service import send, transfer_to_dict

    def ident(name):
        value = _body(ctx, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} is a customer id", field=name.removesuffix("_id"))
        return value

    sender = _customer(ctx, ident("sender_id"), "write", field="sender")
    recipient = _customer(ctx, ident("recipient_id"), field="recipient")
    raw = _body(ctx, "points")
    t, created = send(
        ctx.uow,
        sender.id,
        recipient.id,
        parse_points(str(raw if raw is not None else "")),
        key=_body(ctx, "key"),
        note=_body(ctx, "note"),
    )
    return transfer_to_dict(t) | {"created": created}


def api_settle(ctx):
    from . import service

    action = _action(ctx, SETTLE)
    t = service.get_transfer(ctx.uow, ctx.path_params["transfer_id"])
    _customer(ctx, t.recipient_id if action in ("accept", "decline") else t.sender_id, "write")
    args = () if action == "accept" else (_body(ctx, "reason"),)
    return service.transfer_to_dict(getattr(service, action)(ctx.uow, t.id, *args))


def api_allowance(ctx):
    from .limits import allowance
    from .service import active_policy, policy_calendar

    c = _customer(ctx, ctx.path_params["customer_id"])
    policy = active_policy(ctx.uow)
    return {
        "customer_id": c.id,
        "policy": policy.to_dict(policy_calendar(ctx.uow, policy)),
        "limits": allowance(ctx.uow, policy, policy_calendar(ctx.uow, policy), c.id, ctx.uow.now()),
        "recipients": [int(v) for v, _ in recipient_options(ctx, c.id)],
    }


def api_family(ctx):
    from . import family as fam

    c = _customer(ctx, ctx.path_params["customer_id"])
    member = fam.membership(ctx.uow, c.id)
    if member is None:
        raise NotFound(f"customer {c.id} is not in a family group", field="customer")
    return fam.family_to_dict(ctx.uow, fam.get_family(ctx.uow, member.family_id))


def routes() -> list:
    from crmcore.api import WebRoute as R

    member = "/members/{customer_id:int}"
    settle = "/transfers/{transfer_id:int}/{action:str}"
    return [
        R("/", index_page, kind="page"),
        R(member, member_page, kind="page"),
        R(member + "/send", send_post, kind="page", methods=("POST",), access="write"),
        R(
            member + "/family/{action:str}",
            family_post,
            kind="page",
            methods=("POST",),
            access="write",
        ),
        R(settle, settle_post, kind="page", methods=("POST",), access="write"),
        R("/transfers", api_list, summary="Transfers, newest first (?customer=&status=)"),
        R(
            "/transfers",
            api_send,
            methods=("POST",),
            access="write",
            summary="Send points: {sender_id, recipient_id, points, key, note}",
        ),
        R("/transfers/{transfer_id:int}", api_show, summary="One transfer with its history"),
        R(
            settle,
            api_settle,
            methods=("POST",),
            access="write",
            summary="accept, decline or cancel a pending transfer ({reason})",
        ),
        R(
            member + "/allowance",
            api_allowance,
            summary="The policy, what the member may still send, and whom they may choose",
        ),
        R(member + "/family", api_family, summary="The member's family group"),
    ]


def menu() -> list:
    from crmcore.api import MenuItem

    return [MenuItem("Transfers", f"{PREFIX}/", label_fa="انتقال امتیاز")]
