"""Events of the transfers plugin (implement them with ``@hookimpl`` in your plugin).

Each is called inside the unit of work that caused it and also written to the outbox (same name). Raising
rolls the whole command back. Outbox-only events (no hook): ``transfers_transfer_declined``,
``transfers_transfer_cancelled``, ``transfers_family_joined``, ``transfers_family_left``.
"""
from __future__ import annotations

from crmcore.api import hookspec


@hookspec
def transfers_transfer_completed(uow, transfer):
    """Points moved from one member to another: both ledgers are written.

    :param transfer: the :class:`crmcore_transfers.models.Transfer` (``sender_id``, ``recipient_id``,
        ``points`` received, ``fee`` paid by the sender, ``status == "completed"``, ``entries`` = the loyalty
        ledger entry ids ``{"out": id, "fee": id or None, "in": [ids]}``).
    :when: inside the unit of work that completes it: ``crm transfers send`` under an instant policy, or
        ``crm transfers accept`` when the recipient must accept. Not called again for a repeated request.
    """


@hookspec
def transfers_transfer_requested(uow, transfer):
    """A transfer waits for the recipient to accept it (the policy requires acceptance); the
    sender's points are held until ``transfer.respond_by``.

    :param transfer: the :class:`crmcore_transfers.models.Transfer` (``status == "pending"``).
    :when: inside the unit of work of ``crm transfers send``; not again for a repeated request.
    """


@hookspec
def transfers_transfer_expired(uow, transfer):
    """A pending transfer was not accepted in time: the points and the fee went back to the sender.

    :param transfer: the :class:`crmcore_transfers.models.Transfer` (``status == "expired"``).
    :when: inside the unit of work of the ``transfers.expire`` job, once per transfer.
    """


@hookspec
def transfers_transfer_reversed(uow, transfer):
    """A completed transfer was undone by an administrator: the recipient gave back the points, the
    sender got the amount and the fee back.

    :param transfer: the :class:`crmcore_transfers.models.Transfer` (``status == "reversed"``).
    :when: inside the unit of work of ``crm transfers reverse``.
    """
