"""Events the voip plugin announces. Each is also written to the outbox (event name = hook name), so a UI
that follows the outbox shows the screen pop without importing this plugin."""

from __future__ import annotations

from crmcore.api import hookspec


@hookspec
def voip_incoming_call(uow, call, customer):
    """A call is ringing: the screen pop.

    :param call: the :class:`crmcore_voip.models.Call` (status ``ringing``; ``extension`` is the phone being
        rung when the PBX says so, ``party_e164`` the normalised caller number or ``None`` when withheld).
    :param customer: the matched :class:`crmcore.api.Customer`, or ``None`` for an unknown caller.
    :when: once per call, inside the unit of work that stored the first ringing event. The outbox payload is
        the screen pop (caller, customer, profile summary, suggestion for unknown callers).
    """


@hookspec
def voip_call_ended(uow, call, customer):
    """An answered call ended; the call is logged as an interaction of kind ``call`` when the caller is known.

    :param call: the :class:`crmcore_voip.models.Call` (status ``completed``, ``talk_seconds`` and
        ``answered_by`` set, ``recording_url`` when the PBX gave one).
    :param customer: the matched customer or ``None``.
    :when: once per call, inside the unit of work that stored the hang-up.
    """


@hookspec
def voip_missed_call(uow, call, customer):
    """A call ended without being answered (no answer, busy, abandoned, failed).

    :param call: the :class:`crmcore_voip.models.Call` (status ``missed``).
    :param customer: the matched customer or ``None``.
    :when: once per call, inside the unit of work that stored the hang-up, after the follow-up was created
        (for inbound calls; at most one follow-up per caller per hour).
    """
