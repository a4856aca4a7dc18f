"""Scheduled work for ``crm jobs run``: flag SLA breaches and warn before them; send agents'
replies; read the mailboxes."""

from __future__ import annotations

from crmcore.api import Job


def _check(uow, now):
    from .sla import check_tickets

    return check_tickets(uow, now)


def _replies(uow, now):
    """Sends in its own short transactions (claim, send outside any transaction, record), so no
    database lock is held while a provider answers."""
    from .delivery import deliver

    return deliver(uow.app, now=now)


def _mail(uow, now):
    """Each message in its own transaction (see mail_sources), so the job's own one stays empty;
    a failing mailbox is listed under ``failed`` and the others are read."""
    from .mail_sources import poll_all

    results = poll_all(uow.app)
    counts: dict = {"sources": len(results), "failed": {}}
    for result in results:
        if result["error"]:
            counts["failed"][result["source"]] = result["error"]
        for row in result["imported"]:
            counts[row["action"]] = counts.get(row["action"], 0) + 1
        counts["rejected"] = counts.get("rejected", 0) + len(result["rejected"])
    return counts


JOBS = [
    Job(
        "tickets.sla",
        "Flag SLA breaches (event tickets_sla_breached) and warn before due times "
        "(outbox tickets_sla_warning).",
        _check,
    ),
    Job(
        "tickets.replies",
        "Send agents' replies to customers (email or SMS by the ticket's "
        "channel); retry temporary failures with back-off.",
        _replies,
    ),
    Job(
        "tickets.mail_poll",
        "Read new mail of the email sources (IMAP, Maildir) into tickets "
        "and replies; see crm tickets email sources.",
        _mail,
    ),
]
