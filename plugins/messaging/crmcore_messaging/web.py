"""What messaging adds to ``crm web``: the customer list's segment handed to a promotional campaign
(a draft, counted as ``crm messaging campaigns count`` counts it; run it from the CLI or let its
schedule run it)."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.web.contrib import SegmentAction, SegmentField

from .campaigns import count_campaign, create_campaign
from .models import Template


def _templates(uow) -> list[tuple[str, str]]:
    rows = uow.session.execute(
        select(Template.name, Template.channel)
        .where(Template.category == "promotional")
        .order_by(Template.name, Template.channel)
    )
    return [(name, name) for name in dict.fromkeys(name for name, _channel in rows)]


def _campaign(uow, clauses: list[str], values: dict[str, str]) -> str:
    campaign = create_campaign(
        uow,
        name=values["name"],
        template=values["template"],
        channel=values["channel"],
        where=clauses,
    )
    counts = count_campaign(uow, campaign)
    return (
        f"Campaign {campaign.name!r} saved as a draft for {counts['matching']:,} customers "
        f"({counts['would_send']:,} reachable now); run it with `crm messages campaigns run "
        f"{campaign.name}`."
    )


SEGMENT_ACTIONS = [
    SegmentAction(
        key="campaign",
        label="Send a campaign to this list",
        label_fa="ارسال کمپین به این فهرست",
        run=_campaign,
        fields=(
            SegmentField("name", "Campaign name", "نام کمپین"),
            SegmentField("template", "Template", "قالب پیام", options=_templates),
            SegmentField(
                "channel",
                "Channel",
                "کانال",
                options=lambda _uow: [("sms", "SMS"), ("email", "Email")],
            ),
        ),
    )
]
