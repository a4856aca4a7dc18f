"""What loyalty adds to ``crm web``: the dashboard widget of the points the club owes its members
(figures from the ``loyalty.summary`` report of this month)."""

from __future__ import annotations

from crmcore.api import ui

from .programs import active_program


def dashboard_widgets(uow, user, dashboard) -> list[ui.Panel]:
    first, last = dashboard.month()
    month = {"start": first, "end": last, "period": dashboard.month_period}
    currency = active_program(uow).currency
    items = [
        dashboard.stat(
            ui.Label("Points liability", "بدهی امتیازها"),
            "loyalty.summary",
            "totals.liability",
            kind="money",
            currency=currency,
            minor=True,
            **month,
        ),
        dashboard.stat(
            ui.Label("Points outstanding", "امتیاز خرج‌نشده"),
            "loyalty.summary",
            "totals.outstanding",
            **month,
        ),
        dashboard.stat(
            ui.Label("Issued this month", "صادرشده این ماه"),
            "loyalty.summary",
            "totals.issued",
            **month,
        ),
        dashboard.stat(
            ui.Label("Redeemed this month", "خرج‌شده این ماه"),
            "loyalty.summary",
            "totals.redeemed",
            **month,
        ),
    ]
    return [
        ui.Panel(
            key="loyalty", title=ui.Label("Loyalty club", "باشگاه مشتریان"), order=40, items=items
        )
    ]


# -- pages and API routes (issue 28): the counter, members, vouchers, rewards, program -------------
L = ui.Label
PREFIX = "/p/loyalty"


def _customer(ctx, access: str = "read"):
    """The member named in the path, within the user's record rules."""
    from crmcore.api import Customer, NotFound, check_customer

    cid = ctx.path_params.get("customer_id")
    customer = ctx.uow.session.get(Customer, cid)
    if customer is None or not customer.active:
        raise NotFound(f"no customer with id {cid}", field="customer")
    check_customer(ctx.uow, customer, access)
    return customer


def _money(uow, minor: int | None):
    from crmcore.api import Money

    return None if minor is None else Money(minor, active_program(uow).currency)


def _reward_rows(uow, program, balance: int | None = None) -> list[dict]:
    rows = []
    for w in program.rewards.values():
        value = (
            L(f"{w.percent}%", f"{w.percent}٪")
            if w.percent is not None
            else _money(uow, w.amount_minor)
            if w.amount_minor is not None
            else w.sku or ""
        )
        rows.append(
            {
                "code": w.code,
                "title": L(w.title, w.title_fa or w.title),
                "cost": w.cost,
                "value": value,
                "kind": w.kind,
                "valid": L(f"{w.valid_days} days", f"{w.valid_days} روز")
                if w.valid_days
                else L("no limit", "بدون محدودیت"),
                "limit": w.per_customer_limit,
                "affordable": balance is None or balance >= w.cost,
            }
        )
    return rows


def _search_form(q: str = ""):
    from .webkit import Form, Input

    return Form(
        f"{PREFIX}/",
        [Input("q", L("Member's phone or name", "تلفن یا نام عضو"), "tel", q, required=True)],
        L("Find", "پیدا کن"),
        method="get",
        key="find",
    )


def counter_page(ctx):
    """The cashier's page: find a member by phone; one match opens their redemption at once."""
    from fastapi.responses import RedirectResponse

    from crmcore.api import Phone, customer_clause, find_customers

    from .ledger import balance
    from .webkit import Block, page

    q = (ctx.query.get("q") or "").strip()[:100]
    blocks = [Block(L("Find the member", "یافتن عضو"), forms=[_search_form(q)])]
    if q:
        found = find_customers(ctx.uow, q, restrict=customer_clause(ctx.uow), limit=10)
        if len(found) == 1:
            return RedirectResponse(f"{PREFIX}/members/{found[0].customer.id}/redeem", 303)
        rows = [
            {
                "name": ui.Link(
                    m.customer.display_name, f"{PREFIX}/members/{m.customer.id}/redeem"
                ),
                "phone": Phone(m.customer.phones[0].e164).national() if m.customer.phones else None,
                "balance": balance(ctx.uow, m.customer.id),
            }
            for m in found
        ]
        blocks.append(
            Block(
                L("Members found", "اعضای یافته"),
                [
                    ui.Table(
                        columns=[
                            ui.Column("name", L("Member", "عضو"), "link"),
                            ui.Column("phone", L("Phone", "تلفن"), "text"),
                            ui.Column("balance", L("Points", "امتیاز"), "number"),
                        ],
                        rows=rows,
                        empty=L("No member matches.", "عضوی پیدا نشد."),
                    )
                ],
            )
        )
    blocks.append(
        Block(
            L("More", "بیشتر"),
            [
                ui.Link(L("Voucher lookup", "استعلام کوپن"), f"{PREFIX}/vouchers"),
                ui.Link(L("Rewards catalogue", "فهرست جوایز"), f"{PREFIX}/rewards"),
                ui.Link(
                    L("Program rules and simulator", "قواعد برنامه و شبیه‌ساز"), f"{PREFIX}/program"
                ),
            ],
        )
    )
    return page(ctx, L("Loyalty counter", "صندوق باشگاه"), blocks)


def _redeem_blocks(ctx, customer, chosen: str | None, form_values=None, refusal=None):
    from .ledger import balance
    from .webkit import Block, Form, Input

    program = active_program(ctx.uow)
    points = balance(ctx.uow, customer.id)
    head = Block(
        customer.display_name,
        [
            ui.Stat(L("Points balance", "مانده امتیاز"), points, kind="number", tone="info"),
            ui.Link(L("History and vouchers", "گردش و کوپن‌ها"), f"{PREFIX}/members/{customer.id}"),
        ],
    )
    blocks = [head]
    reward = program.rewards.get(chosen) if chosen else None
    if reward is None:
        choose = []
        for row in _reward_rows(ctx.uow, program, points):
            choose.append(
                Form(
                    f"{PREFIX}/members/{customer.id}/redeem",
                    [Input("reward", "", "hidden", row["code"])],
                    L(
                        f"{row['title'].en} · {row['cost']:,} points",
                        f"{row['title'].fa} · {ctx_number(ctx, row['cost'])} امتیاز",
                    ),
                    method="get",
                    key=f"choose-{row['code']}",
                    tone="neutral" if row["affordable"] else "danger",
                )
            )
        blocks.append(
            Block(
                L("Choose a reward", "انتخاب جایزه"),
                forms=choose,
                items=[]
                if choose
                else [ui.Badge(L("No rewards in the program.", "برنامه جایزه‌ای ندارد."))],
            )
        )
        return blocks
    if not ctx.user.can("write", "loyalty"):  # read access: the reward is shown, not redeemed
        blocks.append(
            Block(
                L("Confirm", "تأیید"),
                [
                    ui.Badge(
                        L(
                            "Redeeming needs write access to loyalty.",
                            "برای ثبت استفاده از جایزه دسترسی نوشتن باشگاه لازم است.",
                        ),
                        "warning",
                    )
                ],
            )
        )
        return blocks
    inputs = [
        Input("reward", L("Reward", "جایزه"), "hidden", reward.code),
        Input("key", "", "hidden", (form_values or {}).get("key") or _new_key()),
    ]
    if reward.kind == "points_payment":
        inputs.append(
            Input(
                "points",
                L("Points to pay with", "امتیاز پرداختی"),
                "number",
                (form_values or {}).get("points", ""),
                required=True,
            )
        )
    confirm = Form(
        f"{PREFIX}/members/{customer.id}/redeem",
        inputs,
        L("Confirm redemption", "تأیید استفاده"),
        tone="success",
        key="confirm",
        note=L(
            f"{reward.title}: {reward.cost:,} points; balance after {points - reward.cost:,}",
            f"{reward.title_fa or reward.title}: {ctx_number(ctx, reward.cost)} امتیاز؛ "
            f"مانده پس از آن {ctx_number(ctx, points - reward.cost)}",
        )
        if reward.kind != "points_payment"
        else None,
    )
    if refusal is not None:
        confirm.refuse(refusal)
        if confirm.error and refusal.field == "reward":
            pass
    blocks.append(
        Block(
            L("Confirm", "تأیید"),
            [
                ui.FieldList(
                    [
                        ui.Field(
                            L("Reward", "جایزه"), L(reward.title, reward.title_fa or reward.title)
                        ),
                        ui.Field(L("Cost", "هزینه"), reward.cost, kind="number"),
                    ]
                )
            ],
            forms=[
                confirm,
                Form(
                    f"{PREFIX}/members/{customer.id}/redeem",
                    [],
                    L("Choose another reward", "جایزه دیگر"),
                    method="get",
                    key="back",
                ),
            ],
        )
    )
    return blocks


def ctx_number(ctx, value: int) -> str:
    from crmcore.api import Formatter

    return Formatter.for_language(ctx.lang).number(value)


def _new_key() -> str:
    """A fresh idempotency key per confirmation form: pressing Confirm twice redeems once."""
    import secrets

    return f"web-redeem-{secrets.token_hex(8)}"


def redeem_page(ctx):
    from .webkit import page

    customer = _customer(ctx)
    blocks = _redeem_blocks(ctx, customer, ctx.query.get("reward"))
    return page(ctx, L("Redeem a reward", "استفاده از جایزه"), blocks)


def redeem_post(ctx):
    """The cashier confirmed: the same :func:`redeem_reward` as ``crm loyalty redeem``."""
    from .actions import parse_points
    from .ledger import balance
    from .rewards import redeem_reward, voucher_of
    from .webkit import Block, attempt, form_value, page, refused_status

    customer = _customer(ctx, "write")
    code, key = form_value(ctx, "reward", 100), form_value(ctx, "key", 100) or None
    raw_points = form_value(ctx, "points", 30)

    def run():
        points = parse_points(raw_points) if raw_points else None
        redemption = redeem_reward(ctx.uow, customer.id, code, points=points, key=key)
        return redemption, voucher_of(ctx.uow, redemption)

    done, refusal = attempt(ctx.uow, run)
    if refusal is not None:
        blocks = _redeem_blocks(ctx, customer, code, ctx.body, refusal)
        if code not in active_program(ctx.uow).rewards:
            blocks[-1].forms.insert(0, _refusal_form(refusal))
        return page(
            ctx, L("Redeem a reward", "استفاده از جایزه"), blocks, status=refused_status(refusal)
        )
    redemption, voucher = done
    items = [
        ui.Stat(L("Points used", "امتیاز خرج‌شده"), redemption.points, kind="number"),
        ui.Stat(L("Balance now", "مانده اکنون"), balance(ctx.uow, customer.id), kind="number"),
    ]
    if voucher is not None and voucher.valid_until:
        items.append(
            ui.FieldList(
                [ui.Field(L("Valid until", "معتبر تا"), voucher.valid_until, kind="moment")]
            )
        )
    items.append(ui.Link(L("Next member", "عضو بعدی"), f"{PREFIX}/"))
    return page(
        ctx,
        L("Reward redeemed", "جایزه ثبت شد"),
        [
            Block(
                customer.display_name,
                items,
                code=voucher.code if voucher else None,
                code_label=L("Voucher code", "کد کوپن"),
            )
        ],
    )


def _refusal_form(refusal):
    from .webkit import Form

    form = Form(f"{PREFIX}/", [], L("Back", "بازگشت"), method="get", key="refused")
    form.refuse(refusal)
    return form


def _history_table(uow, customer_id: int, limit: int) -> ui.Table:
    from .ledger import ledger
    from .profile import account_entries, kind_badge

    entries = ledger(uow, customer_id, limit=limit, newest_first=True)
    return ui.Table(
        columns=[
            ui.Column("at", L("When", "زمان"), "moment"),
            ui.Column("kind", L("Entry", "نوع"), "badge"),
            ui.Column("points", L("Points", "امتیاز"), "number"),
            ui.Column("balance", L("Balance", "مانده"), "number"),
            ui.Column("reason", L("Why", "شرح"), "text"),
        ],
        rows=[
            {
                "at": e.occurred_at,
                "kind": kind_badge(e.kind),
                "points": e.points,
                "balance": e.balance_after,
                "reason": e.reason,
            }
            for e in entries
        ],
        title=L("Points history", "گردش امتیاز"),
        empty=L("No entries yet.", "هنوز گردشی نیست."),
        total=account_entries(uow, customer_id),
        more_href=f"{PREFIX}/members/{customer_id}?limit=500",
    )


def _adjust_form(customer_id: int, values=None, refusal=None):
    from .webkit import Form, Input

    form = Form(
        f"{PREFIX}/members/{customer_id}/adjust",
        [
            Input(
                "points",
                L("Points (negative removes)", "امتیاز (منفی برای کسر)"),
                "number",
                required=True,
            ),
            Input("reason", L("Reason", "دلیل"), "text", required=True),
            Input("key", "", "hidden", _new_key().replace("redeem", "adjust")),
        ],
        L("Adjust the balance", "اصلاح مانده"),
        key="adjust",
        title=L("Adjustment (managers)", "اصلاح امتیاز (مدیر)"),
    ).fill(values)
    if refusal is not None:
        form.refuse(refusal)
    return form


def member_page(ctx, *, values=None, refusal=None, status: int = 200):
    from crmcore.api import formatter_for

    from .ledger import balance, lots
    from .models import LoyaltyAccount
    from .rewards import customer_vouchers, voucher_to_dict
    from .summary import expiry_summary
    from .webkit import Block, Form, page

    customer = _customer(ctx)
    try:
        limit = min(max(int(ctx.query.get("limit") or 50), 1), 500)
    except ValueError:
        limit = 50
    account = ctx.uow.session.get(LoyaltyAccount, customer.id)
    summary = expiry_summary(lots(ctx.uow, customer.id), tz=ctx.uow.app.timezone)
    stats = [
        ui.Stat(
            L("Points balance", "مانده امتیاز"),
            balance(ctx.uow, customer.id),
            kind="number",
            tone="info",
        )
    ]
    if account is not None and account.owed:
        stats.append(ui.Stat(L("Owed", "بدهی امتیاز"), account.owed, kind="number", tone="danger"))
    fmt = formatter_for(ctx.uow, ctx.lang)
    expiring = ui.Section(
        L("When points expire", "زمان انقضای امتیازها"),
        [
            ui.FieldList(
                [
                    ui.Field(fmt.date(s.day) if s.day else L("never", "هرگز"), s.points, "number")
                    for s in summary.first
                ]
                + (
                    [ui.Field(L("later", "بعدها"), summary.rest_points, "number")]
                    if summary.rest_lots
                    else []
                )
            )
        ]
        if summary.first
        else [ui.Badge(L("No open points.", "امتیاز بازی نیست."))],
    )
    now = ctx.uow.now()
    vouchers = [
        voucher_to_dict(v, now) | {"_v": v} for v in customer_vouchers(ctx.uow, customer.id)
    ]
    voucher_table = ui.Table(
        columns=[
            ui.Column("code", L("Code", "کد"), "link"),
            ui.Column("reward", L("Reward", "جایزه"), "text"),
            ui.Column("status", L("Status", "وضعیت"), "badge"),
            ui.Column("until", L("Valid until", "معتبر تا"), "date"),
        ],
        rows=[
            {
                "code": ui.Link(v["code"], f"{PREFIX}/vouchers?code={v['code']}"),
                "reward": v["reward"],
                "status": _status_badge(v["status"]),
                "until": v["_v"].valid_until,
            }
            for v in vouchers[:20]
        ],
        title=L("Vouchers", "کوپن‌ها"),
        empty=L("No vouchers.", "کوپنی نیست."),
        total=len(vouchers),
    )
    redeem = Form(
        f"{PREFIX}/members/{customer.id}/redeem",
        [],
        L("Redeem a reward", "استفاده از جایزه"),
        method="get",
        key="redeem",
        tone="success",
    )
    blocks = [
        Block(
            customer.display_name,
            [
                *stats,
                expiring,
                ui.Link(L("360° page", "پرونده مشتری"), f"/customers/{customer.id}"),
            ],
            forms=[redeem],
        ),
        Block(None, [_history_table(ctx.uow, customer.id, limit), voucher_table], wide=True),
    ]
    if ctx.user.can("manage", "loyalty"):
        blocks[0].forms.append(_adjust_form(customer.id, values, refusal))
    return page(ctx, L("Member's points", "امتیازهای عضو"), blocks, status=status)


STATUS_LABELS = {
    "active": (L("active", "فعال"), "success"),
    "used": (L("used", "استفاده‌شده"), "neutral"),
    "expired": (L("expired", "منقضی"), "danger"),
}


def _status_badge(status: str) -> ui.Badge:
    label, tone = STATUS_LABELS.get(status, (L(status, status), "neutral"))
    return ui.Badge(label, tone=tone)


def adjust_post(ctx):
    """A manager's correction: the same :func:`adjust_points` as ``crm loyalty adjust``."""
    from fastapi.responses import RedirectResponse

    from .actions import adjust_points, parse_points
    from .webkit import attempt, form_value, refused_status

    customer = _customer(ctx, "write")
    points, reason = form_value(ctx, "points", 30), form_value(ctx, "reason", 500)
    key = form_value(ctx, "key", 100) or None
    _, refusal = attempt(
        ctx.uow,
        lambda: adjust_points(ctx.uow, customer.id, parse_points(points), reason=reason, key=key),
    )
    if refusal is not None:
        return member_page(ctx, values=ctx.body, refusal=refusal, status=refused_status(refusal))
    return RedirectResponse(f"{PREFIX}/members/{customer.id}?ok=saved", 303)


def vouchers_page(ctx, *, refusal=None, status: int = 200):
    from crmcore.api import to_ascii_digits

    from .rewards import get_voucher, voucher_to_dict
    from .webkit import Block, Form, Input, attempt, page

    code = to_ascii_digits(ctx.query.get("code") or ctx.path_params.get("code") or "")
    code = code.strip().upper()[:40]
    lookup = Form(
        f"{PREFIX}/vouchers",
        [
            Input(
                "code", L("Voucher code", "کد کوپن"), "text", code, required=True, also=("voucher",)
            )
        ],
        L("Look up", "استعلام"),
        method="get",
        key="voucher",
    )
    blocks = [Block(L("Voucher lookup", "استعلام کوپن"), forms=[lookup])]
    if code:
        found, missing = attempt(ctx.uow, lambda: get_voucher(ctx.uow, code))
        if missing is not None:
            lookup.refuse(missing)
            status = 404
        else:
            v = voucher_to_dict(found, ctx.uow.now())
            from crmcore.api import Customer

            owner = ctx.uow.session.get(Customer, found.customer_id)
            items = [
                ui.FieldList(
                    [
                        ui.Field(L("Status", "وضعیت"), _status_badge(v["status"])),
                        ui.Field(
                            L("Member", "عضو"),
                            ui.Link(owner.display_name, f"{PREFIX}/members/{owner.id}"),
                        ),
                        ui.Field(L("Reward", "جایزه"), v["reward"]),
                        ui.Field(
                            L("Value", "ارزش"),
                            L(f"{v['percent']}%", f"{v['percent']}٪")
                            if v["percent"] is not None
                            else _money(ctx.uow, found.amount_minor)
                            if found.amount_minor is not None
                            else (v["sku"] or None),
                        ),
                        ui.Field(L("Issued", "صدور"), found.issued_at, kind="moment"),
                        ui.Field(L("Valid until", "معتبر تا"), found.valid_until, kind="moment"),
                        ui.Field(L("Used", "استفاده"), found.used_at, kind="moment"),
                    ]
                )
            ]
            forms = []
            if v["status"] == "active" and ctx.user.can("write", "loyalty"):
                use = Form(
                    f"{PREFIX}/vouchers/{found.code}/use",
                    [
                        Input(
                            "customer",
                            L("Presented by (phone or id)", "ارائه‌دهنده (تلفن یا شماره)"),
                            "tel",
                            owner.id,
                        )
                    ],
                    L("Mark used", "ثبت استفاده"),
                    tone="success",
                    key="use",
                )
                if refusal is not None:
                    use.refuse(refusal)
                forms.append(use)
            elif refusal is not None:  # no longer usable: the reason goes beside the code
                lookup.refuse(refusal)
            blocks.append(
                Block(None, items, forms, code=found.code, code_label=L("Voucher code", "کد کوپن"))
            )
    return page(ctx, L("Vouchers", "کوپن‌ها"), blocks, status=status)


def voucher_use_post(ctx):
    """The same :func:`use_voucher` as ``crm loyalty vouchers use``."""
    from fastapi.responses import RedirectResponse

    from crmcore.api import resolve_customer

    from .rewards import use_voucher
    from .webkit import attempt, form_value, refused_status

    code = str(ctx.path_params.get("code", ""))[:40]
    who = form_value(ctx, "customer", 100)

    def run():
        cid = resolve_customer(ctx.uow.session, who).id if who else None
        return use_voucher(ctx.uow, code, customer_id=cid)

    _, refusal = attempt(ctx.uow, run)
    if refusal is not None:
        ctx.query = {"code": code}
        return vouchers_page(ctx, refusal=refusal, status=refused_status(refusal))
    return RedirectResponse(f"{PREFIX}/vouchers?code={code}&ok=saved", 303)


def rewards_page(ctx, *, values=None, refusal=None, status: int = 200):
    from sqlalchemy import select

    from .models import LoyaltyProgram
    from .webkit import Block, Form, Input, page

    program = active_program(ctx.uow)
    rows = _reward_rows(ctx.uow, program)
    table = ui.Table(
        columns=[
            ui.Column("code", L("Code", "کد"), "text"),
            ui.Column("title", L("Reward", "جایزه"), "text"),
            ui.Column("cost", L("Points", "امتیاز"), "number"),
            ui.Column("value", L("Value", "ارزش"), "auto"),
            ui.Column("valid", L("Valid for", "اعتبار"), "text"),
            ui.Column("limit", L("Per member", "برای هر عضو"), "number"),
        ],
        rows=rows,
        title=L("Rewards", "جوایز"),
        empty=L(
            "No rewards: load a program with [[rewards]].",
            "جایزه‌ای نیست: برنامه‌ای با [[rewards]] بارگذاری کنید.",
        ),
    )
    blocks = [Block(None, [table], wide=True)]
    if ctx.user.can("manage", "loyalty"):
        source = ""
        if program.version is not None:
            row = ctx.uow.session.scalar(
                select(LoyaltyProgram).where(LoyaltyProgram.version == program.version)
            )
            source = row.source if row is not None else ""
        form = Form(
            f"{PREFIX}/program",
            [
                Input(
                    "program",
                    L("Program file (TOML)", "فایل برنامه (TOML)"),
                    "textarea",
                    source,
                    required=True,
                    hint=L(
                        "Rewards are the [[rewards]] of the program; saving stores a new version.",
                        "جوایز بخش [[rewards]] برنامه‌اند؛ ذخیره، نسخه تازه‌ای می‌سازد.",
                    ),
                ),
                Input(
                    "mode",
                    L("What to do", "کار"),
                    "select",
                    (values or {}).get("mode", "load"),
                    options=[
                        ("load", L("Check and load", "بررسی و بارگذاری")),
                        ("check", L("Only check", "فقط بررسی")),
                    ],
                ),
            ],
            L("Save", "ذخیره"),
            key="program",
            title=L("Edit the catalogue (managers)", "ویرایش فهرست (مدیر)"),
        ).fill(values)
        if refusal is not None:
            form.refuse(refusal)
        blocks.append(Block(None, forms=[form], wide=True))
    return page(ctx, L("Rewards catalogue", "فهرست جوایز"), blocks, status=status)


def program_post(ctx):
    """The same :func:`load_program` as ``crm loyalty program load`` (``--check``: only
    validate)."""
    from fastapi.responses import RedirectResponse

    from .programs import check_program_text, load_program
    from .webkit import attempt, form_value, refused_status

    text = (ctx.body or {}).get("program") or ""
    mode = form_value(ctx, "mode", 10)
    if mode == "check":
        _, refusal = attempt(ctx.uow, lambda: check_program_text(ctx.uow, text))
    else:
        _, refusal = attempt(ctx.uow, lambda: load_program(ctx.uow, text, source_name="web"))
    if refusal is not None:
        refusal.field = (
            "program"
            if not refusal.field
            or refusal.field.startswith(("program", "rules", "rewards"))
            or "." in (refusal.field or "")
            else refusal.field
        )
        return rewards_page(ctx, values=ctx.body, refusal=refusal, status=refused_status(refusal))
    return RedirectResponse(f"{PREFIX}/rewards?ok=saved", 303)


def program_page(ctx):
    """The rules in words (amounts in the currency's major unit) and the simulator."""
    from crmcore.api import Formatter, check_customer, formatter_for, resolve_customer

    from .actions import rule_text
    from .simulate import simulate
    from .webkit import Block, Form, Input, attempt, page

    program = active_program(ctx.uow)
    fmt: Formatter = formatter_for(ctx.uow, ctx.lang)
    rules = ui.Table(
        columns=[
            ui.Column("name", L("Rule", "قاعده"), "text"),
            ui.Column("what", L("What it gives", "چه می‌دهد"), "text"),
            ui.Column("priority", L("Priority", "اولویت"), "number"),
            ui.Column("from", L("From", "از"), "date"),
            ui.Column("to", L("To", "تا"), "date"),
        ],
        rows=[
            {
                "name": r.name,
                "what": rule_text(r, program, fmt),
                "priority": r.priority,
                "from": r.starts,
                "to": r.ends,
            }
            for r in program.rules
        ],
        title=L("Rules", "قواعد"),
        empty=L("No program is loaded.", "برنامه‌ای بارگذاری نشده."),
    )
    facts = ui.FieldList(
        [
            ui.Field(L("Program", "برنامه"), program.name),
            ui.Field(L("Version", "نسخه"), program.version, kind="number"),
            ui.Field(L("Currency", "ارز"), fmt.money_unit_name(program.currency)),
            ui.Field(L("Points expire", "انقضای امتیاز"), expiry_label(program)),
        ]
    )
    q = ctx.query
    sim = Form(
        f"{PREFIX}/program",
        [
            Input(
                "customer",
                L("Member (phone or id)", "عضو (تلفن یا شماره)"),
                "tel",
                q.get("customer", ""),
                required=True,
            ),
            Input(
                "amount",
                L("Purchase amount", "مبلغ خرید")
                if program.currency == "IRR"
                else L(f"Purchase amount ({program.currency})", f"مبلغ خرید ({program.currency})"),
                "money",
                q.get("amount", ""),
                required=True,
                hint=L(
                    "In the currency's major unit (rials, dollars).",
                    "به واحد اصلی ارز (ریال، دلار).",
                ),
            ),
        ],
        L("Simulate", "شبیه‌سازی"),
        method="get",
        key="simulate",
        title=L("Simulator: what would a purchase earn?", "شبیه‌ساز: یک خرید چه امتیازی می‌گیرد؟"),
    )
    blocks = [Block(None, [facts, rules], wide=True), Block(None, forms=[sim])]
    status = 200
    if q.get("customer") or q.get("amount"):

        def run():
            c = resolve_customer(ctx.uow.session, q.get("customer", "")[:100])
            check_customer(ctx.uow, c)
            return simulate(ctx.uow, c, amount=q.get("amount", "")[:40])

        out, refusal = attempt(ctx.uow, run)
        if refusal is not None:
            sim.refuse(refusal)
            status = 422
        else:
            from crmcore.api import Money

            money = Money(int(out["amount"]), out["currency"])
            blocks.append(
                Block(
                    L("What it would earn", "امتیاز این خرید"),
                    [
                        ui.Stat(L("Purchase", "خرید"), money, kind="money"),
                        ui.Stat(
                            L("Points earned", "امتیاز"),
                            out["points"],
                            kind="number",
                            tone="success",
                        ),
                        ui.Stat(
                            L("Balance after", "مانده پس از آن"),
                            out["balance_after"],
                            kind="number",
                        ),
                        ui.Table(
                            columns=[
                                ui.Column("rule", L("Rule", "قاعده"), "text"),
                                ui.Column("fired", L("Fired", "اعمال"), "badge"),
                                ui.Column("points", L("Points", "امتیاز"), "number"),
                                ui.Column("why", L("Why", "چرا"), "text"),
                            ],
                            rows=[
                                {
                                    "rule": f["rule"],
                                    "fired": ui.Badge(L("yes", "بله"), "success")
                                    if f["fired"]
                                    else ui.Badge(L("no", "خیر")),
                                    "points": f["points"],
                                    "why": f["why"],
                                }
                                for f in out["rules"]
                            ],
                            title=L("Rules", "قواعد"),
                        ),
                    ],
                )
            )
    return page(ctx, L("Program rules", "قواعد برنامه"), blocks, status=status)


def expiry_label(program) -> ui.Label:
    """The program's expiry rule in both languages: "12 months" / "۱۲ ماه پس از کسب"."""
    rule = program.expiry
    if rule.unit == "never":
        return L("never", "هرگز")
    if rule.unit == "end_of_year":
        return L("at the end of the year", "پایان سال")
    unit_fa = {"months": "ماه", "days": "روز"}.get(rule.unit, rule.unit)
    return L(f"{rule.count} {rule.unit} after earning", f"{rule.count} {unit_fa} پس از کسب")


# -- the JSON API: the same service functions as the CLI ----------------------------------------
def api_member(ctx):
    from .summary import balance_data

    return balance_data(ctx.uow, _customer(ctx))


def api_history(ctx):
    from .ledger import entry_to_dict, ledger

    customer = _customer(ctx)
    try:
        limit = min(max(int(ctx.query.get("limit") or 50), 1), 1000)
    except ValueError:
        from crmcore.api import ValidationError

        raise ValidationError("limit is a whole number from 1 to 1000", field="limit") from None
    return [entry_to_dict(e) for e in ledger(ctx.uow, customer.id, limit=limit, newest_first=True)]


def api_vouchers(ctx):
    from .rewards import customer_vouchers, voucher_to_dict

    customer = _customer(ctx)
    return [voucher_to_dict(v, ctx.uow.now()) for v in customer_vouchers(ctx.uow, customer.id)]


def _body_points(ctx):
    from .actions import parse_points
    from .webkit import body_value

    return parse_points(body_value(ctx, "points"))


def api_adjust(ctx):
    from .actions import adjust_points
    from .ledger import entry_to_dict
    from .webkit import body_value

    customer = _customer(ctx, "write")
    return entry_to_dict(
        adjust_points(
            ctx.uow,
            customer.id,
            _body_points(ctx),
            reason=body_value(ctx, "reason") or "",
            key=body_value(ctx, "key"),
        )
    )


def api_earn(ctx):
    from crmcore.api import parse_datetime

    from .actions import earn_points
    from .ledger import PROGRAM_EXPIRY, entry_to_dict
    from .webkit import body_value

    customer = _customer(ctx, "write")
    raw = body_value(ctx, "expires")
    expires = (
        PROGRAM_EXPIRY
        if raw is None
        else None
        if raw == "never"
        else parse_datetime(str(raw), tz=ctx.uow.app.timezone, field="expires")
    )
    return entry_to_dict(
        earn_points(
            ctx.uow,
            customer.id,
            _body_points(ctx),
            reason=body_value(ctx, "reason") or "",
            key=body_value(ctx, "key"),
            expires_at=expires,
        )
    )


def api_redeem(ctx):
    from .actions import parse_points
    from .ledger import balance
    from .rewards import redeem_reward, redemption_to_dict, voucher_of, voucher_to_dict
    from .webkit import body_value

    customer = _customer(ctx, "write")
    raw = body_value(ctx, "points")
    r = redeem_reward(
        ctx.uow,
        customer.id,
        str(body_value(ctx, "reward") or ""),
        points=parse_points(raw) if raw is not None else None,
        key=body_value(ctx, "key"),
    )
    v = voucher_of(ctx.uow, r)
    return redemption_to_dict(r, v) | {
        "voucher": voucher_to_dict(v) if v else None,
        "balance": balance(ctx.uow, customer.id),
    }


def api_voucher(ctx):
    from .rewards import get_voucher, voucher_to_dict

    return voucher_to_dict(get_voucher(ctx.uow, str(ctx.path_params["code"])), ctx.uow.now())


def api_voucher_use(ctx):
    from .rewards import use_voucher, voucher_to_dict
    from .webkit import body_value

    cid = body_value(ctx, "customer_id")
    v = use_voucher(
        ctx.uow,
        str(ctx.path_params["code"]),
        customer_id=cid,
        interaction_id=body_value(ctx, "purchase_id"),
    )
    return voucher_to_dict(v, ctx.uow.now())


def api_rewards(ctx):
    from .programs import program_to_dict

    return program_to_dict(active_program(ctx.uow))["rewards"]


def api_program(ctx):
    from .programs import program_to_dict

    return program_to_dict(active_program(ctx.uow))


def api_simulate(ctx):
    from crmcore.api import check_customer, resolve_customer

    from .simulate import simulate

    c = resolve_customer(ctx.uow.session, (ctx.query.get("customer") or "")[:100])
    check_customer(ctx.uow, c)
    return simulate(ctx.uow, c, amount=(ctx.query.get("amount") or "")[:40])


def customer_actions(uow, customer) -> list[ui.Action]:
    """The 360° page's quick actions (``crm_customer_actions``): redeem a reward the member can
    afford (the counter's confirmation: it posts to the member's redeem route, which shows the
    voucher), and a manager's adjustment (back to the member's page)."""
    from crmcore.api import to_persian_digits

    from .models import LoyaltyAccount

    account = uow.session.get(LoyaltyAccount, customer.id)
    points = account.balance if account is not None else 0
    member = f"/members/{customer.id}"
    out = []
    rewards = [w for w in active_program(uow).rewards.values() if w.cost <= points]
    if rewards:
        options = []
        for w in rewards:
            fa_cost = to_persian_digits(f"{w.cost:,}".replace(",", "٬"))
            options.append(
                (
                    w.code,
                    L(
                        f"{w.title} · {w.cost:,} points",
                        f"{w.title_fa or w.title} · {fa_cost} امتیاز",
                    ),
                )
            )
        out.append(
            ui.Action(
                L("Redeem a reward", "استفاده از جایزه"),
                f"{member}/redeem",
                fields=[
                    ui.ActionField(
                        "reward", L("Reward", "جایزه"), "select", options=options, required=True
                    ),
                    ui.ActionField("key", "", "hidden", value=_new_key()),
                ],
                access="write",
            )
        )
    out.append(
        ui.Action(
            L("Adjust points", "اصلاح امتیاز"),
            f"{member}/adjust",
            fields=[
                ui.ActionField(
                    "points",
                    L("Points (negative removes)", "امتیاز (منفی برای کسر)"),
                    "number",
                    required=True,
                ),
                ui.ActionField("reason", L("Reason", "دلیل"), required=True),
                ui.ActionField("key", "", "hidden", value=_new_key().replace("redeem", "adjust")),
            ],
            access="manage",
        )
    )
    return out


def routes() -> list:
    from crmcore.api import WebRoute as R

    member = "/members/{customer_id:int}"
    return [
        R("/", counter_page, kind="page"),
        R(member, member_page, kind="page"),
        R(member + "/redeem", redeem_page, kind="page"),
        R(member + "/redeem", redeem_post, kind="page", methods=("POST",), access="write"),
        R(member + "/adjust", adjust_post, kind="page", methods=("POST",), access="manage"),
        R("/vouchers", vouchers_page, kind="page"),
        R("/vouchers/{code}/use", voucher_use_post, kind="page", methods=("POST",), access="write"),
        R("/rewards", rewards_page, kind="page"),
        R("/program", program_page, kind="page"),
        R("/program", program_post, kind="page", methods=("POST",), access="manage"),
        R(member, api_member, summary="A member's balance and open lots"),
        R(member + "/history", api_history, summary="A member's ledger, newest first"),
        R(member + "/vouchers", api_vouchers, summary="A member's vouchers"),
        R(
            member + "/adjust",
            api_adjust,
            methods=("POST",),
            access="manage",
            summary="Correct a balance: {points (negative removes), reason, key}",
        ),
        R(
            member + "/earn",
            api_earn,
            methods=("POST",),
            access="manage",
            summary="Give points by hand: {points, reason, key, expires}",
        ),
        R(
            member + "/redeem",
            api_redeem,
            methods=("POST",),
            access="write",
            summary="Redeem a reward: {reward, points, key}; returns the voucher",
        ),
        R("/vouchers/{code}", api_voucher, summary="One voucher by its code"),
        R(
            "/vouchers/{code}/use",
            api_voucher_use,
            methods=("POST",),
            access="write",
            summary="Mark a voucher used: {customer_id, purchase_id}",
        ),
        R("/rewards", api_rewards, summary="The rewards catalogue of the active program"),
        R("/program", api_program, summary="The active program"),
        R(
            "/simulate",
            api_simulate,
            summary="Which rules a purchase would fire (?customer=&amount=)",
        ),
    ]


def menu() -> list:
    from crmcore.api import MenuItem

    return [MenuItem("Loyalty club", f"{PREFIX}/", label_fa="باشگاه مشتریان")]
