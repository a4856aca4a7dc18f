"""Shared helpers for the tickets tests: local Tehran moments, a standard setup of policies and agents."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(y, mo, d, h=9, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=TEHRAN)


def at(app, *args):
    """Set the app's frozen clock to a Tehran wall-clock moment."""
    app.clock.set(tehran(*args))


def standard_setup(app):
    """Policies per priority on the default calendar; a support team with three agents."""
    from crmcore_tickets.agents import add_agent, add_team
    from crmcore_tickets.sla import set_policy

    with app.unit_of_work() as uow:
        set_policy(uow, "normal", priority="normal", first_response="2h", resolution="16h")
        set_policy(
            uow,
            "urgent",
            priority="urgent",
            first_response="30m",
            resolution="4h",
            warn_before="15m",
        )
        add_team(uow, "support")
        for name in ("sara", "reza", "nima"):
            add_agent(uow, name, team="support")


def count(app, model):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))
