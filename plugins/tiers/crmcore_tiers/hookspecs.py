"""Events of the tiers plugin (implement them with ``@hookimpl`` in your plugin; messaging congratulates and warns).

Each event is called inside the unit of work that caused it and is also written to the outbox (same name) in
that transaction. Raising rolls the whole command back.
"""

from __future__ import annotations

from crmcore.api import hookspec


@hookspec
def tiers_tier_changed(uow, customer, old_tier, new_tier, direction, reason):
    """A member moved up or down the ladder.

    :param customer: the member (:class:`crmcore.api.Customer`).
    :param old_tier: the name of the tier left (``"red"``); look titles up with ``crmcore_tiers.api.ladder(uow)``.
    :param new_tier: the name of the tier entered (``"gold"``).
    :param direction: ``"up"`` (a purchase crossed a threshold, or a merge) or ``"down"`` (an evaluation).
    :param reason: a readable English sentence ("crossed Gold: 1,020 of 1,000 points in rolling 365 days").
    :when: upgrades inside the unit of work of the purchase that crossed the threshold (after its points were
        accrued); downgrades inside ``crm tiers evaluate`` or the ``tiers.evaluate`` job.
    """


@hookspec
def tiers_downgrade_warning(uow, customer, tier, downgrade_on, needed, metric):
    """A member will drop from ``tier`` on ``downgrade_on`` unless they earn ``needed`` more of ``metric``.

    :param tier: the name of the member's current tier.
    :param downgrade_on: the local :class:`datetime.date` of the downgrade (grace period included).
    :param needed: how much more is needed (points, minor units of money, or purchases), an int.
    :param metric: ``"points"``, ``"spend"`` or ``"purchases"``.
    :when: by the ``tiers.evaluate`` job and ``crm tiers evaluate``: once when a member's qualification will
        lapse within the tier's ``notice_days``, and once when a grace period starts.
    """
