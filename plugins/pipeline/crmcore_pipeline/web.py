"""The pipeline on ``crm web``: the deals board at ``/boards/pipeline/deals`` (``?pipeline=CODE&owner=USERNAME``),
one column per open stage with its totals; moving a card moves the deal through :func:`.deals.move_deal`, so a
closed deal or a closing stage is refused with the plugin's own message (win or lose a deal from its card)."""

from __future__ import annotations

from crmcore.api import BoardCard, BoardColumn, BoardData, Money, WebBoard

from .board import board
from .deals import move_deal


def load(uow, params: dict[str, str]) -> BoardData:
    b = board(uow, pipeline=params.get("pipeline"), owner=params.get("owner"))
    return BoardData(
        title=b["name"],
        columns=[
            BoardColumn(
                key=c["stage"],
                title=c.get("name_en") or c["name"],
                title_fa=c["name"],
                summary=[Money.of(t["amount"], cur) for cur, t in c["totals"].items()],
                cards=[
                    BoardCard(
                        id=str(d["id"]),
                        title=d["title"],
                        subtitle=d["customer"],
                        badge=_amount(d),
                        href=f"/p/pipeline/deals/{d['id']}",
                    )
                    for d in c["deals"]
                ],
            )
            for c in b["columns"]
        ],
    )


def _amount(deal: dict) -> Money | None:
    return None if deal["amount"] is None else Money.of(deal["amount"], deal["currency"])


def boards() -> list[WebBoard]:
    return [
        WebBoard(
            key="deals",
            title="Deals",
            title_fa="معاملات",
            load=load,
            move=lambda uow, card, stage: move_deal(uow, card, stage),
        )
    ]


def dashboard_widgets(uow, user, dashboard) -> list:
    """The pipeline at a glance: open deals per stage, and this month's weighted forecast and won
    deals against the target (figures from ``pipeline.stages``, ``pipeline.forecast`` and
    ``pipeline.targets``)."""
    from crmcore.api import Money, ui

    first, last = dashboard.month()
    month = {"start": first, "end": last, "period": dashboard.month_period}
    irr = "totals.by_currency.IRR"
    stages = dashboard.report("pipeline.stages")
    bars = [
        (ui.Label(row[2] or row[1], row[1]), Money.of(row[5], row[3]))
        for row in stages["rows"]
        if row[3] == "IRR"
    ]
    open_deals = dashboard.stat(
        ui.Label("Open deals", "معاملات باز"), "pipeline.stages", f"{irr}.deals"
    )
    weighted = dashboard.stat(
        ui.Label("Weighted forecast this month", "پیش‌بینی وزنی این ماه"),
        "pipeline.forecast",
        f"{irr}.weighted_amount",
        kind="money",
        currency="IRR",
        **month,
    )
    target = dashboard.stat(
        ui.Label("Target this month", "هدف این ماه"),
        "pipeline.targets",
        f"{irr}.target",
        kind="money",
        currency="IRR",
        **month,
    )
    won = dashboard.stat(
        ui.Label("Won this month", "برنده‌شده این ماه"),
        "pipeline.targets",
        f"{irr}.won",
        kind="money",
        currency="IRR",
        **month,
    )
    items: list = [open_deals, weighted, won, target]
    if target.value.minor:
        reached = Money(won.value.minor + weighted.value.minor, "IRR")
        items.append(
            ui.Progress(
                ui.Label(
                    "Won and weighted forecast against the target",
                    "برنده‌شده و پیش‌بینی وزنی در برابر هدف",
                ),
                reached,
                target.value,
                kind="money",
            )
        )
    if bars:
        items.append(
            ui.Chart(
                bars,
                kind="money",
                title=ui.Label("Open deals per stage", "معاملات باز در هر مرحله"),
            )
        )
    items.append(ui.Link(ui.Label("Open the board", "باز کردن برد فروش"), "/boards/pipeline/deals"))
    return [
        ui.Panel(
            key="pipeline", title=ui.Label("Sales pipeline", "قیف فروش"), order=15, items=items
        )
    ]
