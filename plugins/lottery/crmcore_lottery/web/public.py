"""The public verification page (``/p/lottery/verify/<campaign>``, no login): what was published at
close (the entry list's hash and the seed's commitment), the revealed seed, the winners by lottery
code, a member's own line in the list, and the checks of
:func:`crmcore_lottery.drawing.verify_campaign` against the hashes the visitor saw published.
Nothing personal is shown: members appear by code."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from crmcore.api import NotFound, ValidationError, ui

from ..campaigns import get_campaign
from ..drawing import frozen_document, proof_document, verify_campaign, winners
from ..members import format_code, parse_code
from ..models import LotteryFrozenEntry, LotteryPrize
from ..profile import STATUSES

L = ui.Label
PAGE = "crmcore_lottery:web/page.html"
CHECKS = {
    "published list hash": L("The list hash you saw published", "هش فهرستی که منتشر شده دیدید"),
    "published seed commitment": L("The commitment you saw published", "تعهدی که منتشر شده دیدید"),
    "announcement": L("Hashes announced at close", "هش‌های اعلام‌شده هنگام بستن"),
    "rules": L("Official rules unchanged", "قوانین رسمی بدون تغییر"),
    "frozen list": L("Entry list matches its hash", "فهرست شانس‌ها با هش آن یکی است"),
    "seed": L("Seed matches its commitment", "بذر با تعهد آن یکی است"),
    "winners": L(
        "Winners recomputed from list and seed", "برندگان از فهرست و بذر دوباره محاسبه شد"
    ),
}


def _campaign(ctx):
    campaign = get_campaign(ctx.uow, ctx.path_params["name"])
    return campaign


def _who(campaign, participant: int, persian: bool) -> str:
    return (
        format_code(participant, persian)
        if campaign.participants_by == "code"
        else str(participant)
    )


def _given(ctx, key: str) -> str | None:
    value = (ctx.query.get(key) or "").strip()[:100]
    return value or None


def verify_page(ctx):
    campaign = _campaign(ctx)
    fa = ctx.lang == "fa"
    title = L(campaign.title, campaign.title_fa or campaign.title)
    facts = [
        ui.Field(L("Status", "وضعیت"), ui.Badge(*STATUSES[campaign.status])),
        ui.Field(L("Draw", "زمان قرعه‌کشی"), campaign.draw_at, kind="moment"),
    ]
    panels: list[ui.Panel] = []
    error = None
    if campaign.status == "open":
        facts.append(
            ui.Field(
                L("Entry list", "فهرست شانس‌ها"),
                L("published when entries close", "پس از بسته شدن ثبت شانس منتشر می‌شود"),
            )
        )
        panels.append(ui.Panel(key="published", title=title, items=[ui.FieldList(facts)]))
        return _render(ctx, title, panels)
    facts.append(ui.Field(L("Closed", "بسته شد"), campaign.closed_at, kind="moment"))
    if campaign.status == "drawn":
        facts.append(ui.Field(L("Drawn", "قرعه‌کشی شد"), campaign.drawn_at, kind="moment"))
    downloads = [
        ui.Link(
            L("Entry list (list.txt)", "فهرست شانس‌ها (list.txt)"),
            f"/p/lottery/verify/{campaign.name}/list.txt",
        )
    ]
    if campaign.status == "drawn":
        downloads.append(
            ui.Link(
                L("Proof (proof.json)", "مدرک قرعه‌کشی (proof.json)"),
                f"/p/lottery/verify/{campaign.name}/proof.json",
            )
        )
    panels.append(ui.Panel(key="published", title=title, items=[ui.FieldList(facts), *downloads]))
    try:
        result = verify_campaign(
            ctx.uow,
            campaign,
            list_sha256=_given(ctx, "list_hash"),
            seed_commitment=_given(ctx, "commitment"),
        )
    except ValidationError as exc:
        error, result = exc.message, None
    if result is not None:
        rows = [
            {
                "check": CHECKS.get(name, L(name)),
                "result": ui.Badge(
                    L("passed", "درست") if ok else L("FAILED", "نادرست"),
                    "success" if ok else "danger",
                ),
                "detail": detail,
            }
            for name, ok, detail in result.checks
        ]
        verdict = ui.Badge(
            L("Verification passed", "بررسی موفق بود")
            if result.ok
            else L("Verification FAILED", "بررسی ناموفق بود"),
            "success" if result.ok else "danger",
        )
        columns = [
            ui.Column("check", L("Check", "بررسی")),
            ui.Column("result", L("Result", "نتیجه"), "badge"),
        ]
        if ctx.lang != "fa":  # the details are the CLI's English sentences (crm lottery verify)
            columns.append(ui.Column("detail", L("Detail", "جزئیات")))
        panels.append(
            ui.Panel(
                key="checks",
                title=L("Check the draw", "بررسی قرعه‌کشی"),
                items=[verdict, ui.Table(columns=columns, rows=rows)],
            )
        )
    mine = _my_line(ctx, campaign, fa)
    if mine is not None:
        panels.append(mine)
    if campaign.status == "drawn":
        prizes = {
            p.id: p
            for p in ctx.uow.session.scalars(
                select(LotteryPrize).where(LotteryPrize.campaign_id == campaign.id)
            )
        }
        rows = [
            {
                "slot": w.slot + 1,
                "prize": L(
                    prizes[w.prize_id].name, prizes[w.prize_id].name_fa or prizes[w.prize_id].name
                ),
                "code": _who(campaign, w.participant, fa),
            }
            for w in winners(ctx.uow, campaign)
        ]
        panels.append(
            ui.Panel(
                key="winners",
                title=L("Winners", "برندگان"),
                items=[
                    ui.Table(
                        columns=[
                            ui.Column("slot", L("Draw", "نوبت"), "number"),
                            ui.Column("prize", L("Prize", "جایزه")),
                            ui.Column("code", L("Lottery code", "کد قرعه‌کشی")),
                        ],
                        rows=rows,
                    )
                ],
            )
        )
    return _render(ctx, title, panels, error=error, form=True, campaign=campaign)


def _my_line(ctx, campaign, fa: bool) -> ui.Panel | None:
    raw = _given(ctx, "code")
    if raw is None:
        return None
    code = (
        parse_code(raw)
        if campaign.participants_by == "code"
        else (int(raw) if raw.isdigit() else None)
    )
    line = (
        None
        if code is None
        else ctx.uow.session.scalar(
            select(LotteryFrozenEntry).where(
                LotteryFrozenEntry.campaign_id == campaign.id,
                LotteryFrozenEntry.participant == code,
            )
        )
    )
    if line is None:
        text = L(
            f"{raw} is not in this campaign's entry list.",
            f"کد {raw} در فهرست شانس‌های این قرعه‌کشی نیست.",
        )
        return ui.Panel(
            key="mine", title=L("Your entry", "شانس شما"), items=[ui.Badge(text, "warning")]
        )
    won = [w for w in winners(ctx.uow, campaign) if w.participant == code]
    items: list[Any] = [
        ui.FieldList(
            [
                ui.Field(L("Lottery code", "کد قرعه‌کشی"), _who(campaign, code, fa)),
                ui.Field(L("Line in the list", "ردیف در فهرست"), line.position, kind="number"),
                ui.Field(L("Entries", "شانس‌ها"), line.weight, kind="number"),
            ]
        )
    ]
    if won:
        items.append(ui.Badge(L("This code won a prize", "این کد برنده شده است"), "success"))
    return ui.Panel(key="mine", title=L("Your entry", "شانس شما"), items=items)


def _render(ctx, title, panels, *, error=None, form=False, campaign=None):
    from .pages import published_hashes

    return ctx.render(
        "crmcore_lottery:web/verify.html",
        title=ui.text_of(title, ctx.lang),
        heading=title,
        panels=panels,
        plugin="lottery",
        may=lambda _level: False,
        error=error,
        form=form,
        campaign=campaign,
        query=ctx.query,
        hashes=published_hashes(_campaign(ctx)),
    )


def list_file(ctx):
    campaign = _campaign(ctx)
    return Response(
        frozen_document(ctx.uow, campaign).encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign.name}-list.txt"'},
    )


def proof_file(ctx):
    campaign = _campaign(ctx)
    body = json.dumps(proof_document(ctx.uow, campaign), ensure_ascii=False, indent=1)
    return Response(
        body.encode("utf-8"),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{campaign.name}-proof.json"'},
    )


def api_verify(ctx) -> dict[str, Any]:
    campaign = _campaign(ctx)
    if campaign.status == "open":
        raise NotFound(
            f"campaign {campaign.name!r} is still open: nothing is published yet", field="campaign"
        )
    result = verify_campaign(
        ctx.uow,
        campaign,
        list_sha256=_given(ctx, "list_hash"),
        seed_commitment=_given(ctx, "commitment"),
    )
    return {
        "campaign": campaign.name,
        "status": campaign.status,
        "rules_sha256": campaign.rules_sha256,
        "list_sha256": campaign.list_sha256,
        "seed_commitment": campaign.seed_commitment,
        "seed": campaign.seed if campaign.status == "drawn" else None,
        "winners": [
            {"slot": w.slot, "prize_rank": w.prize_rank, "participant": w.participant}
            for w in winners(ctx.uow, campaign)
        ]
        if campaign.status == "drawn"
        else [],
        **result.as_dict(),
    }
