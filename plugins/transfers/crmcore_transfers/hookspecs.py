"""Events of the transfers plugin (implement them with ``@hookimpl`` in your plugin).

Each is called inside the unit of work that caused it and also written to the outbox (same name). Raising
rolls the whole command back. Outbox-only events (no hook): ``transfers_transfer_requested`` (a pending
transfer awaits the recipient), ``transfers_transfer_declined``, ``transfers_transfer_cancelled``,
``transfers_transfer_expired``, ``transfers_transfer_reversed``, ``transfers_family_joined``,
``transfers_family_left``.
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
