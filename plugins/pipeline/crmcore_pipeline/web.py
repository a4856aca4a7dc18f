"""The pipeline on ``crm web``: the deals board at ``/boards/pipeline/deals`` (``?pipeline=CODE&owner=USERNAME``),
one column per open stage with its totals; moving a card moves the deal through :func:`.deals.move_deal`, so a
closed deal or a closing stage is refused with the plugin's own message (win or lose a deal from its card)."""
from __future__ import annotations

from crmcore.api import Money
from crmcore.web.contrib import BoardCard, BoardColumn, BoardData, WebBoard

from .board import board
from .deals import move_deal


def load(uow, params: dict[str, str]) -> BoardData:
    b = board(uow, pipeline=params.get("pipeline"), owner=params.get("owner"))
    return BoardData(title=b["name"], columns=[
        BoardColumn(key=c["stage"], title=c.get("name_en") or c["name"], title_fa=c["name"],
                    summary=[Money.of(t["amount"], cur) for cur, t in c["totals"].items()],
                    cards=[BoardCard(id=str(d["id"]), title=d["title"], subtitle=d["customer"],
                                     badge=_amount(d)) for d in c["deals"]])
        for c in b["columns"]])


def _amount(deal: dict) -> Money | None:
    return None if deal["amount"] is None else Money.of(deal["amount"], deal["currency"])


def boards() -> list[WebBoard]:
    return [WebBoard(key="deals", title="Deals", title_fa="معاملات", load=load,
                     move=lambda uow, card, stage: move_deal(uow, card, stage))]
