"""Jobs: ``transfers.expire`` returns pending transfers nobody accepted in time to their senders."""

from __future__ import annotations

from crmcore.api import Job


def _expire(uow, now):
    from .service import expire_due

    return expire_due(uow, now)


JOBS = [
    Job(
        name="transfers.expire",
        description="Expire pending transfers not accepted in time; the points and "
        "the fee go back to the sender with their original expiry.",
        run=_expire,
    )
]
