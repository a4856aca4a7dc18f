"""Hook implementations: kernel events, lifecycle contributions, and other plugins' events (optional)."""

from __future__ import annotations

from sqlalchemy import update

from crmcore.api import AttributeSpec, hookimpl

from . import triggers


# --- lifecycle ------------------------------------------------------------------------------------------
@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_web_segment_actions():
    from .web import SEGMENT_ACTIONS

    return SEGMENT_ACTIONS


@hookimpl
def crm_web_routes():
    from .chat_web import ROUTES as CHAT_ROUTES
    from .web import ROUTES

    return [*ROUTES, *CHAT_ROUTES]


@hookimpl
def crm_web_menu():
    from .web import MENU

    return MENU


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_integrations(uow):
    from .integrations import integrations

    return integrations(uow)


@hookimpl
def crm_customer_attributes():
    return [
        AttributeSpec(
            "language", choices=("fa", "en"), help="language of the messages the customer gets"
        )
    ]


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import profile_section

    return profile_section(uow, customer)


# --- kernel events --------------------------------------------------------------------------------------
@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    triggers.purchase(uow, interaction, customer)


@hookimpl
def crm_interactions_recorded(uow, interactions, batch):
    from .bulk import purchases

    purchases(uow, interactions, batch)


@hookimpl
def crm_customer_forgotten(uow, customer):
    """Nothing queued goes out to a forgotten customer (models.py declares the erased texts)."""
    from .models import Message

    uow.session.execute(
        update(Message)
        .where(Message.customer_id == customer.id, Message.status == "queued")
        .values(status="blocked", error="customer forgotten")
    )
    from .models import ChatLink

    # the chat is unlinked (a new contact must be shared); its texts are erased by declaration
    uow.session.execute(
        update(ChatLink)
        .where(ChatLink.customer_id == customer.id)
        .values(customer_id=None, phone_e164=None, name=None, linked_at=None)
    )


# --- other plugins' events (the catalogue in docs/writing-plugins.md) ----------------------------------
@hookimpl(optionalhook=True)
def loyalty_points_expiring(uow, customer, points, expires_on):
    triggers.points_expiring(uow, customer, points, expires_on)


@hookimpl(optionalhook=True)
def tiers_tier_changed(uow, customer, old_tier, new_tier, direction):
    triggers.tier_changed(uow, customer, old_tier, new_tier, direction)


@hookimpl(optionalhook=True)
def tickets_ticket_closed(uow, ticket):
    triggers.ticket_closed(uow, ticket)


@hookimpl(optionalhook=True)
def lottery_winners_drawn(uow, campaign, winners):
    triggers.winners_drawn(uow, campaign, winners)


@hookimpl(optionalhook=True)
def surveys_invitation_created(uow, invitation, customer, url_token, url):
    return triggers.survey_invitation(uow, invitation, customer, url_token, url)


@hookimpl(optionalhook=True)
def referrals_referral_attached(uow, referral, friend, referrer):
    triggers.referral_joined(uow, referral, friend, referrer)


@hookimpl(optionalhook=True)
def referrals_reward_earned(uow, reward, beneficiary, friend):
    triggers.referral_reward(uow, reward, beneficiary, friend)


@hookimpl(optionalhook=True)
def tickets_reply_sender(uow, channel):
    """An agent's ticket reply goes out through this business's provider for the channel."""
    if channel == "chat":
        from .chat import reply_sender as chat_sender

        return chat_sender(uow)
    from .ticket_replies import reply_sender

    return reply_sender(uow, channel)


# --- staff notifications (the kernel's notify_user) ---------------------------------------------
@hookimpl
def crm_staff_message(uow, channel, address, subject, body, key):
    """A staff notification to the user's own address by the channel's default provider, after
    the commit: not a customer message (no consent, template or customer log; task reminders go
    here)."""
    from .service import provider_for

    provider = provider_for(uow, channel)
    if provider is None:
        return None
    kind, options = provider.kind, dict(provider.options)
    text = f"{subject}\n{body}" if body else subject

    def send() -> None:
        import logging

        from .channels import Outgoing, build_channel

        try:
            build_channel(kind, options).send(
                Outgoing(
                    message_id=0,
                    channel=channel,
                    recipient=address,
                    body=text,
                    subject=subject if channel == "email" else None,
                    idempotency_key=key,
                )
            )
        except Exception:  # noqa: BLE001 - the notification is in the user's web list regardless
            logging.getLogger(__name__).exception("messaging: staff notification %s not sent", key)

    uow.after_commit(send)
    return "queued"


@hookimpl(optionalhook=True)
def transfers_transfer_completed(uow, transfer):
    triggers.transfer_event(uow, "transfer_received", transfer)


@hookimpl(optionalhook=True)
def transfers_transfer_requested(uow, transfer):
    triggers.transfer_event(uow, "transfer_pending", transfer)


@hookimpl(optionalhook=True)
def transfers_transfer_expired(uow, transfer):
    triggers.transfer_event(uow, "transfer_expired", transfer)


@hookimpl(optionalhook=True)
def transfers_transfer_reversed(uow, transfer):
    triggers.transfer_event(uow, "transfer_reversed", transfer)


@hookimpl
def crm_interaction_details(interaction):
    from .profile import message_details

    return message_details(interaction)


@hookimpl
def crm_customer_actions(uow, customer):
    from .web import customer_actions

    return customer_actions(uow, customer)
