"""Staff notifications of the pipeline (the kernel's ``notify_user``): a deal given to a rep (by
round-robin, a lead's owner or someone else's change) — not when the rep took it themselves."""

from __future__ import annotations

from crmcore.api import notify_user


def assigned(uow, deal) -> None:
    rep = deal.owner
    if rep is None or (uow.actor or "").split(" ")[0].lower() == rep.username.lower():
        return
    notify_user(
        uow,
        rep.username,
        f"معامله #{deal.id} به شما سپرده شد: {deal.title}",
        link=f"/p/pipeline/deals/{deal.id}",
        kind="deal_assigned",
        key=f"deal:{deal.id}:owner:{rep.username}@{uow.now().isoformat()}",
    )
