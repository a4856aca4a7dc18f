"""Events and extension points of the loyalty plugin (implement them with ``@hookimpl`` in your plugin).

Event hooks are called inside the unit of work that caused them; each is also written to the outbox (same
name) in that transaction. Raising rolls the whole command back.
"""

from __future__ import annotations

from crmcore.api import hookspec

#: Events written to the outbox only (no hook is called): name → what its payload holds.
#: ``uow.emit`` refuses a name that is neither here nor a hook specification.
OUTBOX_EVENTS = {
    "loyalty_points_expired": (
        "A lot's remaining points expired (the expiry job): ``data`` is the ledger entry."
    ),
    "loyalty_points_reversed": (
        "A refund took back the points its purchase had earned: ``data`` is the ledger entry."
    ),
    "loyalty_voucher_used": ("A voucher was used at the counter: ``data`` is the voucher."),
}


@hookspec
def loyalty_program_sections():
    """Claim sections of the loyalty program file that your plugin owns (``[tiers]``, ``[transfers]``).

    :return: ``{section_name: validator}``. ``validator(raw)`` receives the parsed TOML value of the section
        and returns the validated value (any object) or raises :class:`crmcore.api.ValidationError` with
        ``field=`` naming the key inside the section (loyalty prefixes the section name). Unknown sections are
        refused when a program is loaded. The validated value is available as
        ``crmcore_loyalty.api.active_program(uow).sections[section_name]``.
    :when: whenever a program file is loaded or checked, and when the active program is read (once per unit of
        work).
    """


@hookspec
def loyalty_earning_multiplier(uow, customer, interaction):
    """Multiply the points a purchase earns (tiers: gold members earn 1.5×).

    :param customer: the :class:`crmcore.api.Customer` who purchased.
    :param interaction: the purchase :class:`crmcore.api.Interaction` (for a simulation: an unsaved one,
        ``id`` is ``None``).
    :return: a :class:`decimal.Decimal` factor (``Decimal("1.5")``) or ``None`` for no change. Loyalty
        multiplies all returned factors with the program's own multipliers and rounds the result down.
    :when: for each purchase accrual (live or imported) and for ``crm loyalty simulate``; must only read.
    """


@hookspec
def loyalty_points_earned(uow, customer, entry):
    """Points were added to a member's balance (purchase accrual, manual earn or adjust, transfer in…).

    :param customer: the member (:class:`crmcore.api.Customer`).
    :param entry: the ledger entry (``entry.kind``: ``earn``, ``adjust``, ``transfer_in``…; ``entry.points`` > 0;
        ``entry.interaction_id`` for purchase accruals).
    :when: inside the unit of work of the credit, after the entry and its lot are flushed.
    """


@hookspec
def loyalty_points_redeemed(uow, customer, entry):
    """Points were spent from a member's balance (reward redemption, manual debit, transfer out…).

    :param entry: the ledger entry (``entry.points`` < 0; ``entry.consumed`` lists the lots it used as
        ``(lot_id, points, expires_at)``).
    :when: inside the unit of work of the debit. Expiry, refund reversals and claw-backs are not spends: they are
        announced as outbox events ``loyalty_points_expired`` and ``loyalty_points_reversed`` only.
    """


@hookspec
def loyalty_points_expiring(uow, customer, points, expires_on):
    """A member's points will expire soon (the program's ``expiry_warning_days`` ahead).

    :param points: how many points expire on that day (int).
    :param expires_on: the local :class:`datetime.date` (program time zone) of the expiry.
    :when: by the ``loyalty.expiry`` job (``crm jobs run``), once per lot.
    """


@hookspec
def loyalty_reward_redeemed(uow, customer, redemption):
    """A member took a reward (or a spending threshold gave one).

    :param redemption: the :class:`crmcore_loyalty.models.LoyaltyRedemption` (``reward_code``, ``points``);
        its voucher is ``crmcore_loyalty.api.voucher_of(uow, redemption)``.
    :when: inside the unit of work of the redemption, after the points were debited and the voucher issued.
    """
