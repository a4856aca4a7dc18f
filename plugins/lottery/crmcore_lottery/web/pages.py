"""Staff pages: the campaigns, one campaign with its prizes and entries per member, and the
manager's close and draw buttons, which call :func:`crmcore_lottery.freeze.close_campaign` and
:func:`crmcore_lottery.drawing.draw_campaign` as ``crm lottery close`` and ``draw`` do."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse

from crmcore.api import CRMError, Money, to_persian_digits, ui

from ..campaigns import campaign_to_dict, get_campaign, list_campaigns
from ..drawing import draw_campaign, earliest_draw, winner_to_dict, winners
from ..entries import participant_totals
from ..freeze import close_campaign
from ..members import format_code
from ..profile import STATUSES

L = ui.Label
PAGE = "crmcore_lottery:web/page.html"
ENTRY_ROWS = 100


def _render(
    ctx,
    heading: ui.Label | str,
    panels: list[ui.Panel],
    *,
    error: str | None = None,
    status: int = 200,
    hashes: list[tuple[ui.Label, str]] = (),
):
    response = ctx.render(
        PAGE,
        title=ui.text_of(heading, ctx.lang),
        heading=heading,
        panels=panels,
        plugin="lottery",
        may=lambda level: ctx.user.can(level, "lottery"),
        error=error,
        hashes=hashes,
    )
    response.status_code = status
    return response


def _title(campaign, lang: str) -> ui.Label:
    return L(campaign.title, campaign.title_fa or campaign.title)


def _n(value: int, lang: str) -> str:
    return to_persian_digits(f"{value:,}".replace(",", "٬")) if lang == "fa" else f"{value:,}"


def campaigns_page(ctx):
    rows = []
    for c in list_campaigns(ctx.uow):
        data = campaign_to_dict(ctx.uow, c)
        rows.append(
            {
                "campaign": ui.Link(_title(c, ctx.lang), f"/p/lottery/campaigns/{c.name}"),
                "status": ui.Badge(*STATUSES[c.status]),
                "from": c.entry_start,
                "until": c.entry_end,
                "draw": c.draw_at,
                "members": data["participants"],
                "entries": data["entries"],
            }
        )
    table = ui.Table(
        columns=[
            ui.Column("campaign", L("Campaign", "قرعه‌کشی"), "link"),
            ui.Column("status", L("Status", "وضعیت"), "badge"),
            ui.Column("from", L("Entries from", "شروع"), "date"),
            ui.Column("until", L("Entries until", "پایان"), "date"),
            ui.Column("draw", L("Draw", "زمان قرعه‌کشی"), "moment"),
            ui.Column("members", L("Members", "اعضا"), "number"),
            ui.Column("entries", L("Entries", "شانس‌ها"), "number"),
        ],
        rows=rows,
        empty=L(
            "No campaign yet: crm lottery create …",
            "هنوز قرعه‌کشی‌ای تعریف نشده است: crm lottery create …",
        ),
    )
    return _render(
        ctx,
        L("Lottery campaigns", "قرعه‌کشی‌ها"),
        [ui.Panel(key="campaigns", title=L("Campaigns", "قرعه‌کشی‌ها"), items=[table])],
    )


def _earning(campaign, lang: str) -> ui.Label:
    parts_en, parts_fa = [], []
    if campaign.per_purchase:
        parts_en.append(f"{campaign.per_purchase} per purchase")
        parts_fa.append(f"{_n(campaign.per_purchase, 'fa')} شانس برای هر خرید")
    if campaign.per_amount:
        step = Money(campaign.per_amount, campaign.currency)
        parts_en.append(f"one per {step.amount} {campaign.currency} spent")
        parts_fa.append("یک شانس به ازای هر {money} خرید")
    if campaign.points_per_entry:
        parts_en.append(f"{campaign.points_per_entry} points buy one")
        parts_fa.append(f"هر {_n(campaign.points_per_entry, 'fa')} امتیاز یک شانس")
    return L("; ".join(parts_en) or "—", "؛ ".join(parts_fa) or "—")


def campaign_panels(ctx, campaign) -> list[ui.Panel]:
    from crmcore.api import formatter_for

    fmt = formatter_for(ctx.uow, ctx.lang)
    data = campaign_to_dict(ctx.uow, campaign)
    earning = _earning(campaign, ctx.lang)
    if campaign.per_amount and ctx.lang == "fa":
        earning = L(
            earning.en,
            earning.fa.replace("{money}", fmt.money(Money(campaign.per_amount, campaign.currency))),
        )
    fields = [
        ui.Field(L("Status", "وضعیت"), ui.Badge(*STATUSES[campaign.status])),
        ui.Field(L("Entries from", "شروع ثبت شانس"), campaign.entry_start, kind="moment"),
        ui.Field(L("Entries until", "پایان ثبت شانس"), campaign.entry_end, kind="moment"),
        ui.Field(L("Draw", "زمان قرعه‌کشی"), campaign.draw_at, kind="moment"),
        ui.Field(L("Earning", "روش کسب شانس"), earning),
        ui.Field(
            L("Members / entries", "اعضا / شانس‌ها"),
            L(
                f"{data['participants']:,} / {data['entries']:,}",
                f"{_n(data['participants'], 'fa')} / {_n(data['entries'], 'fa')}",
            ),
        ),
    ]
    if campaign.closed_at is not None:
        fields.append(ui.Field(L("Closed", "بسته شد"), campaign.closed_at, kind="moment"))
    if campaign.status == "closed":
        fields.append(
            ui.Field(
                L("Draw possible from", "قرعه‌کشی ممکن از"),
                earliest_draw(ctx.uow, campaign),
                kind="moment",
            )
        )
    details: list[Any] = [ui.FieldList(fields)]
    if campaign.status != "open":
        details.append(
            ui.Link(
                L("Public verification page", "صفحه عمومی بررسی قرعه‌کشی"),
                f"/p/lottery/verify/{campaign.name}",
            )
        )
    if campaign.status == "open":
        early = (
            []
            if ctx.uow.now() >= campaign.entry_end
            else [
                ui.ActionField(
                    "early",
                    L("Before the entry window ends?", "پیش از پایان مهلت ثبت شانس؟"),
                    kind="select",
                    options=[
                        ("no", L("No", "خیر")),
                        ("yes", L("Yes, close early", "بله، زودتر بسته شود")),
                    ],
                )
            ]
        )
        details.append(
            ui.Action(
                L("Close entries and publish the hashes", "بستن ثبت شانس و انتشار هش‌ها"),
                f"/campaigns/{campaign.name}/close",
                access="manage",
                tone="warning",
                fields=early,
                confirm=L(
                    "Freeze the entry list now? No entry can be added after.",
                    "فهرست شانس‌ها اکنون قفل شود؟ پس از آن شانسی افزوده نمی‌شود.",
                ),
            )
        )
    elif campaign.status == "closed":
        details.append(
            ui.Action(
                L("Draw the winners", "قرعه‌کشی کن"),
                f"/campaigns/{campaign.name}/draw",
                access="manage",
                tone="success",
                confirm=L("Reveal the seed and draw now?", "بذر آشکار و قرعه‌کشی انجام شود؟"),
            )
        )
    prizes = ui.Table(
        columns=[
            ui.Column("rank", L("Rank", "رتبه"), "number"),
            ui.Column("name", L("Prize", "جایزه")),
            ui.Column("quantity", L("Winners", "تعداد برنده"), "number"),
            ui.Column("awarded", L("Awarded", "اهدا شده"), "number"),
        ],
        rows=[
            {
                "rank": p.rank,
                "name": L(p.name, p.name_fa or p.name),
                "quantity": p.quantity,
                "awarded": p.awarded,
            }
            for p in campaign.prizes
        ],
        title=L("Prizes", "جایزه‌ها"),
    )
    panels = [ui.Panel(key="campaign", title=_title(campaign, ctx.lang), items=[*details, prizes])]
    if campaign.status == "drawn":
        rows = []
        for w in winners(ctx.uow, campaign):
            d = winner_to_dict(ctx.uow, w)
            rows.append(
                {
                    "prize": L(d["prize"], d["prize_fa"] or d["prize"]),
                    "code": L(format_code(d["lottery_code"]), format_code(d["lottery_code"], True))
                    if d["lottery_code"]
                    else str(d["participant"]),
                    "customer": ui.Link(
                        d["name"] or f"#{w.customer_id}", f"/customers/{w.customer_id}"
                    ),
                }
            )
        panels.append(
            ui.Panel(
                key="winners",
                title=L("Winners", "برندگان"),
                items=[
                    ui.Table(
                        columns=[
                            ui.Column("prize", L("Prize", "جایزه")),
                            ui.Column("code", L("Lottery code", "کد قرعه‌کشی")),
                            ui.Column("customer", L("Customer", "مشتری"), "link"),
                        ],
                        rows=rows,
                    )
                ],
            )
        )
    people = participant_totals(ctx.uow, campaign)
    sources = {
        "purchase": L("purchases", "خرید"),
        "points": L("points", "امتیاز"),
        "card": L("cards", "کارت"),
    }
    rows = [
        {
            "code": L(format_code(r["lottery_code"]), format_code(r["lottery_code"], True)),
            "customer": ui.Link(
                r["name"] or f"#{r['customer_id']}", f"/customers/{r['customer_id']}"
            ),
            "entries": r["entries"],
            "sources": L(
                ", ".join(f"{sources[k].en} {v}" for k, v in sorted(r["by_source"].items())),
                "، ".join(
                    f"{sources[k].fa} {_n(v, 'fa')}" for k, v in sorted(r["by_source"].items())
                ),
            ),
        }
        for r in people[:ENTRY_ROWS]
    ]
    panels.append(
        ui.Panel(
            key="entries",
            title=L("Entries per member", "شانس‌های هر عضو"),
            items=[
                ui.Table(
                    columns=[
                        ui.Column("code", L("Lottery code", "کد قرعه‌کشی")),
                        ui.Column("customer", L("Member", "عضو"), "link"),
                        ui.Column("entries", L("Entries", "شانس"), "number"),
                        ui.Column("sources", L("From", "از")),
                    ],
                    rows=rows,
                    total=len(people),
                    empty=L("No entries yet.", "هنوز شانسی ثبت نشده است."),
                )
            ],
        )
    )
    return panels


def campaign_page(ctx, *, error: str | None = None, status: int = 200):
    campaign = get_campaign(ctx.uow, ctx.path_params["name"])
    return _render(
        ctx,
        _title(campaign, ctx.lang),
        campaign_panels(ctx, campaign),
        error=error,
        status=status,
        hashes=published_hashes(campaign),
    )


def published_hashes(campaign) -> list[tuple[ui.Label, str]]:
    """What was published, shown as typed (Latin hex, left to right), never with Persian digits."""
    out = [(L("Rules SHA-256", "هش قوانین رسمی"), campaign.rules_sha256)]
    if campaign.closed_at is not None:
        out += [
            (L("Entry list SHA-256", "هش فهرست شانس‌ها"), campaign.list_sha256),
            (L("Seed commitment", "تعهد بذر (هش بذر)"), campaign.seed_commitment),
        ]
    if campaign.status == "drawn" and campaign.seed:
        out.append((L("Revealed seed", "بذر آشکارشده"), campaign.seed))
    return out


def _act(ctx, action):
    name = ctx.path_params["name"]
    try:
        action(ctx.uow, get_campaign(ctx.uow, name, lock=True))
    except CRMError as exc:
        return campaign_page(
            ctx, error=exc.message, status=409 if exc.__class__.__name__ == "Conflict" else 422
        )
    return RedirectResponse(f"/p/lottery/campaigns/{name}?ok=saved", status_code=303)


def close_action(ctx):
    early = str((ctx.body or {}).get("early") or "") == "yes"
    return _act(ctx, lambda uow, campaign: close_campaign(uow, campaign, early=early))


def draw_action(ctx):
    return _act(ctx, lambda uow, campaign: draw_campaign(uow, campaign))


# --- JSON -----------------------------------------------------------------------------------------
def api_campaigns(ctx) -> list[dict[str, Any]]:
    return [
        campaign_to_dict(ctx.uow, c, calendar=ctx.uow.app.calendar, tz=ctx.uow.app.timezone)
        for c in list_campaigns(ctx.uow, ctx.query.get("status") or None)
    ]


def api_campaign(ctx) -> dict[str, Any]:
    return campaign_to_dict(
        ctx.uow,
        get_campaign(ctx.uow, ctx.path_params["name"]),
        calendar=ctx.uow.app.calendar,
        tz=ctx.uow.app.timezone,
    )


def api_entries(ctx) -> list[dict[str, Any]]:
    return participant_totals(ctx.uow, get_campaign(ctx.uow, ctx.path_params["name"]))


def api_draw(ctx) -> dict[str, Any]:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    return draw_campaign(
        ctx.uow, get_campaign(ctx.uow, ctx.path_params["name"], lock=True), seed=body.get("seed")
    )
