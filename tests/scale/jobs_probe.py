"""A plugin for the tests of jobs handed to the workers: each job's effect is one audit row.

- ``probe.tally``: records the moment it ran for (``probe-job`` audit row); takes 400 ms, so a batch of
  hand-offs is shared by the workers (each holds at most two messages with one thread).
- ``probe.slow``: the same effect, then 4 s of work before the commit (a worker can be killed mid-job).
- ``probe.broken``: leaves an effect, then raises a bug (RuntimeError): everything is rolled back.
- ``probe.refuses``: leaves an effect, then refuses with a CRMError: everything is rolled back.
"""

import time

from crmcore.errors import ValidationError
from crmcore.hooks import hookimpl
from crmcore.jobs import Job

EFFECT = "probe-job"


def _effect(uow, name, now):
    uow.audit(EFFECT, "job", entity_id=name, changes={"job": name, "moment": now.isoformat()})
    uow.session.flush()


def tally(uow, now):
    _effect(uow, "probe.tally", now)
    time.sleep(0.4)
    return {"moment": now, "tallied": 1}


def slow(uow, now):
    _effect(uow, "probe.slow", now)
    time.sleep(4)
    return {"slept_s": 4}


def broken(uow, now):
    _effect(uow, "probe.broken", now)
    raise RuntimeError(f"probe.broken breaks at {now.isoformat()}")


def refuses(uow, now):
    _effect(uow, "probe.refuses", now)
    raise ValidationError("probe.refuses will not run today", field="day")


@hookimpl
def crm_jobs():
    return [
        Job("probe.tally", "Tally the moment it ran for", tally),
        Job("probe.slow", "A job that takes 4 seconds", slow),
        Job("probe.broken", "A job with a bug", broken),
        Job("probe.refuses", "A job that refuses with a clear error", refuses),
    ]
