"""Scheduled jobs of the voip plugin."""

from __future__ import annotations

from datetime import timedelta

from crmcore.api import Job

STALE_AFTER = timedelta(hours=6)


def close_stale_calls_job(uow, now):
    """Calls still ringing or in progress 6 hours after they started lost their hang-up (a dropped AMI
    connection while nobody listened, a webhook that never came): close them so reports and follow-ups see
    them."""
    from .service import close_stale_calls

    closed = close_stale_calls(
        uow, older_than=STALE_AFTER, now=now, reason="no hang-up from the PBX within 6 hours"
    )
    return {"closed": len(closed), "missed": sum(c.status == "missed" for c in closed)}


JOBS = [
    Job(
        name="voip.close_stale_calls",
        description="Close calls still ringing or in progress 6 hours after they started (lost hang-ups)",
        run=close_stale_calls_job,
    )
]
