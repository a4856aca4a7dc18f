"""Events of the transfers plugin (implement them with ``@hookimpl`` in your plugin).

Each is called inside the unit of work that caused it and also written to the outbox (same name). Raising
rolls the whole command back. The events written to the outbox only are listed in ``OUTBOX_EVENTS``.
"""

from __future__ import annotations

from crmcore.api import hookspec

#: Events written to the outbox only (no hook is called): name → what its payload holds.
#: ``uow.emit`` refuses a name that is neither here nor a hook specification.
OUTBOX_EVENTS = {
    "transfers_transfer_declined": ("The recipient declined a pending transfer: the transfer."),
    "transfers_transfer_cancelled": ("The sender cancelled a pending transfer: the transfer."),
    "transfers_family_joined": (
        "A customer joined (or founded) a family group: ``family_id``, ``role``."
    ),
    "transfers_family_left": ("A customer left a family group: ``family_id``."),
}


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
