"""Hook specs of the events other plugins announce (as in docs/writing-plugins.md), so tests can emit them
without those plugins installed."""

import sys

from crmcore.api import hookspec


@hookspec
def loyalty_points_expiring(uow, customer, points, expires_on):
    """loyalty: points expire soon."""


@hookspec
def tiers_tier_changed(uow, customer, old_tier, new_tier, direction, reason):
    """tiers: a customer moved up or down."""


@hookspec
def tickets_ticket_closed(uow, ticket, resolution):
    """tickets: a ticket was closed."""


@hookspec
def lottery_winners_drawn(uow, campaign, winners):
    """lottery: winners were drawn."""


@hookspec
def surveys_invitation_created(uow, invitation, customer, url_token, url):
    """surveys: an invitation is to be sent."""


@hookspec
def tasks_reminder_due(uow, task, reminder):
    """tasks: a reminder is due."""


@hookspec
def transfers_transfer_completed(uow, transfer):
    """transfers: points reached the recipient."""


@hookspec
def transfers_transfer_requested(uow, transfer):
    """transfers: a transfer waits for the recipient's acceptance."""


@hookspec
def transfers_transfer_expired(uow, transfer):
    """transfers: a pending transfer was not accepted in time."""


@hookspec
def transfers_transfer_reversed(uow, transfer):
    """transfers: a completed transfer was reversed."""


@hookspec
def referrals_referral_attached(uow, referral, friend, referrer):
    """referrals: a friend joined with a member's code."""


@hookspec
def referrals_reward_earned(uow, reward, beneficiary, friend):
    """referrals: a referral earned a reward."""


SPECS = sys.modules[__name__]


class Nothing:
    """A registered plugin with no hooks (the specs come with it)."""
