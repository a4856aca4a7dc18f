"""Gateway templates ("verify lookup"/OTP/pattern SMS): a text the gateway approved in advance, filled with
parameters, sent at once on its service route. Iranian operators deliver these even to numbers that blocked
advertising SMS, which is why codes and receipts go this way.

The message is recorded like any other (idempotency key, status, delivery reports), but its parameters are
not stored: they are often one-time codes. A send that failed is not retried by the outbox (a code is only
useful now); a send with an unclear outcome is ``unknown``.
"""

from __future__ import annotations

from typing import Any

from crmcore.api import Conflict, ValidationError

from .channels import DeliveryError, Outgoing, build_channel
from .channels.iran import GatewayChannel
from .models import Message
from .outbox import _log_interaction, existing_message
from .policy import has_consent, missing_recipient_reason, no_consent_reason, recipient
from .service import provider_for


def send_lookup(app, customer_ref: Any, *, template: str, params: dict[str, str], key: str) -> int:
    """Send the gateway template ``template`` with ``params`` to the customer now; returns the message id.

    The same ``key`` never sends twice (the first message's id is returned). Refused without SMS consent, a
    mobile number, or an SMS provider that is a gateway with templates.
    """
    from crmcore.api import resolve_customer

    template = (template or "").strip()
    if not template:
        raise ValidationError("give the gateway's template name or id", field="template")
    with app.unit_of_work() as uow:
        found = existing_message(uow, key)
        if found is not None:
            return found.id
        customer = resolve_customer(uow.session, customer_ref)
        provider = provider_for(uow, "sms")
        if provider is None:
            raise ValidationError(
                "no sms provider is configured (crm messages providers add)", field="provider"
            )
        channel = build_channel(provider.kind, dict(provider.options))
        if not isinstance(channel, GatewayChannel):
            raise ValidationError(
                f"the sms provider {provider.name} ({provider.kind}) has no gateway templates",
                field="provider",
            )
        to = recipient(customer, "sms")
        if to is None:
            raise ValidationError(missing_recipient_reason(customer, "sms"), field="customer")
        if not customer.active or not has_consent(customer, "sms"):
            raise Conflict(no_consent_reason(customer, "sms"), field="customer")
        now = uow.now()
        row = Message(
            customer_id=customer.id,
            channel="sms",
            category="transactional",
            recipient=to,
            template=template[:100],
            body=f"gateway template {template}"[:2000],
            trigger="lookup",
            idempotency_key=key[:200],
            status="sending",
            attempts=1,
            provider=provider.name,
            created_at=now,
            next_attempt_at=now,
            sent_at=now,
        )
        uow.session.add(row)
        uow.session.flush()
        mid = row.id
    out = Outgoing(message_id=mid, channel="sms", recipient=to, body="", idempotency_key=key)
    try:
        outcome: Any = channel.send_template(
            out, template, {str(k): str(v) for k, v in params.items()}
        )
    except DeliveryError as exc:
        outcome = exc
    finally:
        channel.close()
    with app.unit_of_work(actor="messaging") as uow:
        row = uow.session.get(Message, mid)
        if isinstance(outcome, DeliveryError):
            row.status = "unknown" if outcome.ambiguous else "failed"
            row.error = str(outcome)[:2000]
            row.sent_at = None if row.status == "failed" else row.sent_at
        else:
            row.status, row.provider_message_id = outcome.status, outcome.provider_message_id
            _log_interaction(uow, row)
    return mid
