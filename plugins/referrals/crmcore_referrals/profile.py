"""The referrals panel of the customer 360° page: the member's code and share text, who brought them,
the friends they brought and the points that earned them."""

from __future__ import annotations

from datetime import datetime

from crmcore.api import ui

from . import program, service

L = ui.Label
STATUS = {
    "pending": (L("waiting for a purchase", "در انتظار خرید"), "info"),
    "qualified": (L("qualified", "واجد پاداش"), "success"),
    "reversed": (L("reversed", "برگشت‌خورده"), "danger"),
}


def section(uow, customer) -> ui.Panel:
    data = service.summary(uow, customer.id)
    friends, _total = service.list_referrals(uow, referrer_id=customer.id, limit=5)
    referral = data["referral"]
    fields = [
        ui.Field(L("Referral code", "کد معرف"), data["code"]),
        ui.Field(
            L("Share text", "متن معرفی"), service.share_text(uow, customer, program.active(uow))
        ),
    ]
    if referral is not None:
        label, tone = STATUS[referral["status"]]
        fields += [
            ui.Field(
                L("Referred by", "معرف"),
                ui.Link(f"#{referral['referrer_id']}", f"/customers/{referral['referrer_id']}"),
            ),
            ui.Field(L("Referral", "وضعیت معرفی"), ui.Badge(label, tone=tone)),
        ]
    items: list = [
        ui.Stat(L("Friends brought", "دوستان معرفی‌شده"), data["friends"], kind="number"),
        ui.Stat(
            L("Qualified friends", "دوستان واجد پاداش"), data["friends_qualified"], kind="number"
        ),
        ui.Stat(L("Referral points", "امتیاز معرفی"), data["points_earned"], kind="number"),
        ui.FieldList(fields),
    ]
    if friends:
        items.append(
            ui.Table(
                columns=[
                    ui.Column("friend", L("Friend", "دوست"), "link"),
                    ui.Column("status", L("Status", "وضعیت"), "badge"),
                    ui.Column("attached_at", L("Joined", "تاریخ عضویت"), "moment"),
                ],
                rows=[
                    {
                        "friend": ui.Link(r["friend_name"], f"/customers/{r['friend_id']}"),
                        "status": ui.Badge(STATUS[r["status"]][0], tone=STATUS[r["status"]][1]),
                        "attached_at": datetime.fromisoformat(r["attached_at"]),
                    }
                    for r in friends
                ],
                title=L("Latest friends", "آخرین دوستان معرفی‌شده"),
                total=data["friends"],
            )
        )
    return ui.Panel(
        key="referrals",
        title=L("Referrals", "معرفی دوستان"),
        order=60,
        items=items,
        data={
            k: data[k]
            for k in ("code", "referred_by", "friends", "friends_qualified", "points_earned")
        },
    )
