"""Scheduled jobs contributed by plugins (``crm_jobs``) and run by ``crm jobs run`` (cron-friendly).

A job runs in a unit of work of its own (actor ``job:NAME``), either in the calling process (:func:`run_jobs`)
or in a worker (``crm jobs run --via-workers``, :mod:`crmcore.workers.jobs`). Every run is recorded in
``job_runs`` (:class:`crmcore.storage.models.JobRun`) in the same transaction as the job's effects; a failed
job is rolled back and its failure recorded in a transaction of its own. ``crm jobs runs`` lists them.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import attrs
from sqlalchemy import select, update

from .domain.dates import utcnow
from .errors import CRMError, NotFound

log = logging.getLogger("crmcore.jobs")

QUEUED, RUNNING, OK, FAILED = "queued", "running", "ok", "failed"
FINISHED = (OK, FAILED)
#: what :func:`run_handed_off` returns when the run was already finished (a repeated delivery)
DUPLICATE = "duplicate"
VIA_PROCESS, VIA_WORKERS = "process", "workers"


@attrs.frozen
class Job:
    name: str
    description: str
    run: Callable[[Any, datetime], dict[str, Any]]


def job_registry(app) -> dict[str, Job]:
    with app.unit_of_work(readonly=True) as uow:
        registry: dict[str, Job] = {}
        for group in uow.call("crm_jobs"):
            for job in group or ():
                registry[job.name] = job
    return dict(sorted(registry.items()))


def select_jobs(registry: dict[str, Job], only: Optional[list[str]] = None) -> list[str]:
    """The names of the jobs to run: all of them, or ``only`` these (an unknown name is refused)."""
    if only:
        unknown = [n for n in only if n not in registry]
        if unknown:
            raise NotFound(
                f"unknown job {unknown[0]!r} (available: {', '.join(registry) or 'none'})",
                field="job",
            )
    return [name for name in registry if not only or name in only]


def new_run_id() -> str:
    return uuid.uuid4().hex


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _json_default(value: Any):
    from .storage.jsoncodec import plain_value

    try:
        return plain_value(value)
    except TypeError:
        return str(value)  # Money and other values: their text; a summary never fails a job


def storable_summary(summary: Any) -> dict[str, Any]:
    """A job's summary as stored in ``job_runs.summary``: plain JSON (moments and Decimals as ISO/plain text,
    other values as their text)."""
    if not summary:
        return {}
    if not isinstance(summary, dict):
        summary = {"result": summary}
    return json.loads(json.dumps(summary, default=_json_default))


def _error_text(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, CRMError) else f"{type(exc).__name__}: {exc}"
    return text[:2000]


def run_jobs(
    app, *, now: datetime | None = None, only: list[str] | None = None
) -> list[dict[str, Any]]:
    """Run each job in its own unit of work; a failing job is rolled back and reported, the others run.

    Each run is recorded in ``job_runs`` (``via="process"``): ``ok`` with its summary in the job's own
    transaction, ``failed`` with the error after the rollback. An exception that is not a :class:`CRMError`
    (a bug) is recorded too and then raised.
    """
    registry = job_registry(app)
    results = []
    for name in select_jobs(registry, only):
        job = registry[name]
        run_id, started = new_run_id(), utcnow()
        moment = now
        try:
            with app.unit_of_work(actor=f"job:{name}") as uow:
                moment = now or uow.now()
                summary = job.run(uow, moment) or {}
                uow.session.add(
                    _process_run(
                        run_id, name, moment, OK, started, summary=storable_summary(summary)
                    )
                )
            results.append({"job": name, "ok": True, "summary": summary})
        except Exception as exc:
            _record_process_failure(app, run_id, name, moment or app.now(), started, exc)
            if not isinstance(exc, CRMError):
                raise
            results.append({"job": name, "ok": False, "error": str(exc)})
    return results


def _process_run(
    run_id: str, name: str, moment: datetime, status: str, started: datetime, **fields
):
    from .storage.models import JobRun

    return JobRun(
        run_id=run_id,
        job=name,
        moment=moment,
        status=status,
        via=VIA_PROCESS,
        worker=process_name(),
        attempts=1,
        queued_at=started,
        started_at=started,
        finished_at=utcnow(),
        **fields,
    )


def _record_process_failure(app, run_id, name, moment, started, exc) -> None:
    try:
        with app.unit_of_work(actor=f"job:{name}") as uow:
            uow.session.add(
                _process_run(run_id, name, moment, FAILED, started, error=_error_text(exc))
            )
    except Exception:  # the failure of the job is what the caller must see
        log.exception("could not record the failure of job %s", name)


# -- runs handed to the workers -------------------------------------------------------------------------------
class HandOffNotRecorded(CRMError):
    """A worker received a job message whose hand-off is not (or not yet) committed in ``job_runs``."""

    def __init__(self, run_id: str, job: str):
        self.run_id = run_id
        super().__init__(
            f"run {run_id} of job {job!r} is not recorded (yet): the hand-off has not committed, "
            "or it failed and was rolled back"
        )


def start_handed_off(app, run_id: str, job: str, *, worker: str) -> bool:
    """Mark a handed-off run ``running`` by ``worker`` (its own short transaction, so ``crm jobs runs`` shows
    it); False when the run is already finished (a repeated delivery).

    :raises HandOffNotRecorded: no ``job_runs`` row for ``run_id`` (yet).
    """
    from .storage.models import JobRun

    with app.unit_of_work(actor=f"worker:{worker}") as uow:
        status = uow.session.scalar(select(JobRun.status).where(JobRun.run_id == run_id))
        if status is None:
            raise HandOffNotRecorded(run_id, job)
        if status in FINISHED:
            return False
        # waits for (PostgreSQL: the row lock of) a worker that is running it now, then sees it finished
        started = uow.session.execute(
            update(JobRun)
            .where(JobRun.run_id == run_id, JobRun.status.in_((QUEUED, RUNNING)))
            .values(
                status=RUNNING, worker=worker, started_at=utcnow(), attempts=JobRun.attempts + 1
            )
            .execution_options(synchronize_session=False)
        )
        return started.rowcount == 1


def run_handed_off(
    app,
    run_id: str,
    name: str,
    moment: datetime,
    *,
    worker: str,
    registry: Optional[dict[str, Job]] = None,
) -> str:
    """Run a handed-off job exactly once in effect; return ``ok``, ``failed`` or ``duplicate``.

    The run's row is claimed (``running`` → ``ok``) first in the job's own unit of work, so its effects and
    its ``ok`` commit together; a second handler of the same run blocks on the claim (PostgreSQL row lock,
    SQLite's single writer) and then finds it finished. Any exception rolls the job back and is recorded
    ``failed`` in a transaction of its own.
    """
    from .storage.models import JobRun

    if not start_handed_off(app, run_id, name, worker=worker):
        return DUPLICATE
    log.info("job %s (run %s, for %s): started by %s", name, run_id, moment.isoformat(), worker)
    registry = job_registry(app) if registry is None else registry
    this_run = (
        update(JobRun).where(JobRun.run_id == run_id).execution_options(synchronize_session=False)
    )
    claim = this_run.where(JobRun.status == RUNNING)
    try:
        with app.unit_of_work(actor=f"job:{name}") as uow:
            if uow.session.execute(claim.values(status=OK, worker=worker)).rowcount != 1:
                return DUPLICATE
            job = registry.get(name)
            if job is None:
                raise NotFound(
                    f"job {name!r} is not a job of this worker's enabled plugins "
                    f"(available: {', '.join(registry) or 'none'})",
                    field="job",
                )
            summary = storable_summary(job.run(uow, moment))
            uow.session.execute(this_run.values(summary=summary, finished_at=utcnow()))
        return OK
    except Exception as exc:
        error = _error_text(exc)
        log.error(
            "job %s (run %s) failed: %s",
            name,
            run_id,
            error,
            exc_info=not isinstance(exc, CRMError),
        )
        with app.unit_of_work(actor=f"worker:{worker}") as uow:
            failed = uow.session.execute(
                claim.values(status=FAILED, error=error, finished_at=utcnow())
            )
        return FAILED if failed.rowcount == 1 else DUPLICATE


# -- reading runs ------------------------------------------------------------------------------------------
def run_as_dict(row) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "job": row.job,
        "moment": row.moment,
        "status": row.status,
        "via": row.via,
        "worker": row.worker,
        "attempts": row.attempts,
        "queued_at": row.queued_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "summary": row.summary,
        "error": row.error,
    }


def list_job_runs(
    app, *, limit: int = 20, job: Optional[str] = None, status: Optional[str] = None
) -> list[dict[str, Any]]:
    """The most recent runs first (hand-offs and in-process runs), optionally of one job or status."""
    from .storage.models import JobRun

    q = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        q = q.where(JobRun.job == job)
    if status:
        q = q.where(JobRun.status == status)
    with app.unit_of_work(readonly=True) as uow:
        return [run_as_dict(r) for r in uow.session.scalars(q)]


def runs_by_id(app, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    from .storage.models import JobRun

    with app.unit_of_work(readonly=True) as uow:
        return {
            r.run_id: run_as_dict(r)
            for r in uow.session.scalars(select(JobRun).where(JobRun.run_id.in_(run_ids)))
        }


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
