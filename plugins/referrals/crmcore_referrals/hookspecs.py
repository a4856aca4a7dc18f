"""Events and questions of the referrals plugin (implement them with ``@hookimpl`` in your plugin; mark
the implementation ``optionalhook=True`` when your plugin works without referrals).

The events are called inside the unit of work that caused them and also written to the outbox (same name).
Raising rolls the whole command back.
"""

from __future__ import annotations

from crmcore.api import hookspec


@hookspec
def referrals_referral_attached(uow, referral, friend, referrer):
    """A friend was attached to the member who brought them.

    :param referral: the :class:`crmcore_referrals.models.Referral` (``source``: ``signup`` when the
        customer was added with a code — CLI, API or import —, ``form`` from the public lead form,
        ``staff`` when attached later by ``crm referrals attach``).
    :param friend: the new :class:`crmcore.api.Customer`.
    :param referrer: the :class:`crmcore.api.Customer` whose code was used.
    :when: inside the unit of work that attached it, after every abuse check passed.
    """


@hookspec
def referrals_reward_earned(uow, reward, beneficiary, friend):
    """A referral qualified and earned a reward for ``beneficiary`` (the friend, or a referrer up to the
    program's level). With loyalty enabled the points are already credited; without it, a plugin that
    hands out rewards another way implements this hook.

    :param reward: the :class:`crmcore_referrals.models.ReferralReward` (``role``: ``referrer`` or
        ``friend``; ``level``: 1 for the direct referrer; ``points``; ``status``: ``earned``, or ``capped``
        with ``points == 0`` when the referrer reached the program's monthly cap).
    :param beneficiary: the :class:`crmcore.api.Customer` rewarded.
    :param friend: the :class:`crmcore.api.Customer` whose purchase qualified.
    :when: inside the unit of work that recorded the qualifying purchase (live or imported).
    """


@hookspec
def referrals_reward_reversed(uow, reward, beneficiary):
    """A reward was taken back because the qualifying purchase was refunded below the program's amount.

    :param reward: the :class:`crmcore_referrals.models.ReferralReward`, now ``status == "reversed"``.
    :when: inside the unit of work that recorded the refund.
    """


@hookspec
def referrals_same_household(uow, first, second):
    """Whether two customers belong to one household (e.g. one family group of the transfers plugin), so
    that one may not refer the other.

    :param first: a :class:`crmcore.api.Customer`; :param second: another.
    :return: a short reason (``"one family group"``) when they do, ``None`` when this plugin cannot tell
        or they do not.
    """
