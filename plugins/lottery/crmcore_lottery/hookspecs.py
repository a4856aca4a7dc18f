"""Events the lottery plugin announces (each is also written to the outbox under the same name).

Closing a campaign writes the outbox-only event ``lottery_entries_frozen`` (see ``OUTBOX_EVENTS``):
publish its payload to members before the draw.
"""

from __future__ import annotations

from crmcore.api import hookspec

#: Events written to the outbox only (no hook is called): name → what its payload holds.
#: ``uow.emit`` refuses a name that is neither here nor a hook specification.
OUTBOX_EVENTS = {
    "lottery_entries_frozen": (
        "A campaign was closed: ``data`` is the published material (``campaign``, "
        "``list_sha256``, ``seed_commitment``, ``rules_sha256``, ``closed_at``, ``eligible``, "
        "``entries``) to publish to members before the draw."
    ),
}


@hookspec
def lottery_winners_drawn(uow, campaign, winners):
    """A campaign was drawn: messaging congratulates the winners.

    :param campaign: the :class:`crmcore_lottery.models.LotteryCampaign` (``name``, ``title``, ``title_fa``,
        ``seed`` now revealed, ``list_sha256``, ``seed_commitment``, ``drawn_at``, ``prizes``).
    :param winners: the flushed :class:`crmcore_lottery.models.LotteryWinner` rows in draw order: ``slot``,
        ``prize_id`` and ``prize_rank``, ``customer_id`` (the customer to congratulate), ``participant`` (the id
        in the frozen list), ``ticket``. Fewer winners than prizes when too few members were eligible.
        ``lottery_code`` (``"4827-1635"``): the member's code in the published list (``None`` for
        campaigns listed by customer id).
    :when: once per campaign, inside the unit of work of ``crm lottery draw`` (or the job ``lottery.draw_due``),
        after the winners are stored. Raising rolls the draw back.
    """
