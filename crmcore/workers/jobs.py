"""Scheduled jobs handed to the workers: ``crm jobs run --via-workers`` publishes, ``crm worker`` runs.

One message per job on the jobs queue (``<queue>.jobs``, beside the events queue of the same broker), carrying
the job's name, the moment it runs for and a unique run id. The hand-off records each run ``queued`` in
``job_runs`` in the transaction that publishes the messages: if the broker refuses, nothing is recorded. A
worker runs the job like ``crm jobs run`` does (its own unit of work, actor ``job:NAME``) and writes the run's
outcome in the job's transaction (:func:`crmcore.jobs.run_handed_off`), so a repeated delivery changes nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Optional

import attrs

from ..domain.dates import utcnow
from ..errors import CRMError, ValidationError
from ..jobs import (
    DUPLICATE,
    FAILED,
    FINISHED,
    OK,
    QUEUED,
    VIA_WORKERS,
    HandOffNotRecorded,
    job_registry,
    new_run_id,
    run_handed_off,
    runs_by_id,
    select_jobs,
    utc,
)
from .broker import BrokerSettings, make_broker

log = logging.getLogger("crmcore.workers")

JOB_ACTOR = "crm_run_job"
#: pause before a worker looks again for a hand-off that has not committed yet
HANDOFF_WAIT_MS = 200
#: how many times (≈ 1 minute) before a message whose hand-off never committed is dropped
HANDOFF_WAITS = 300
#: a job may run this long in a worker before Dramatiq interrupts it (then it is recorded failed)
JOB_TIME_LIMIT_MS = 6 * 3600 * 1000


class BrokerUnavailable(CRMError):
    """The broker could not take the jobs (not reachable, refused); nothing was handed off."""


@attrs.frozen
class JobMessage:
    job: str
    moment: datetime
    run_id: str

    def to_message(self) -> dict[str, Any]:
        return {"job": self.job, "moment": utc(self.moment).isoformat(), "run_id": self.run_id}

    @classmethod
    def from_message(cls, body: Any) -> "JobMessage":
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) and body[k] for k in ("job", "moment", "run_id")
        ):
            raise ValidationError(
                f"not a job message (expected job, moment, run_id): {str(body)[:200]}",
                field="message",
            )
        try:
            moment = datetime.fromisoformat(body["moment"])
        except ValueError:
            raise ValidationError(
                f"job message {body['run_id']}: moment {body['moment']!r} is not an ISO 8601 "
                "moment",
                field="moment",
            ) from None
        if moment.tzinfo is None:
            raise ValidationError(
                f"job message {body['run_id']}: moment {body['moment']!r} has no time zone",
                field="moment",
            )
        return cls(job=body["job"], moment=moment, run_id=body["run_id"])

    def broker_message(self, queue: str):
        from dramatiq import Message

        return Message(
            queue_name=queue, actor_name=JOB_ACTOR, args=(self.to_message(),), kwargs={}, options={}
        )


def _connect(broker, settings: BrokerSettings) -> None:
    """Reach the broker and declare the jobs queue now, before any database transaction is opened."""
    if settings.kind == "rabbitmq":
        broker.declare_queue(settings.jobs_queue, ensure=True)
    else:
        broker.declare_queue(settings.jobs_queue)
        broker.client.ping()


def enqueue_job_messages(broker, settings: BrokerSettings, messages: list[JobMessage]) -> None:
    for m in messages:
        broker.enqueue(m.broker_message(settings.jobs_queue))


def hand_off_jobs(
    app,
    settings: BrokerSettings,
    *,
    now: Optional[datetime] = None,
    only: Optional[list[str]] = None,
) -> list[dict[str, Any]]:
    """Publish one message per job (all, or ``only`` these) for the workers and record each run ``queued``.

    One transaction: the runs are inserted, the messages published (each confirmed by the broker), then the
    runs commit. A broker that is unreachable or refuses raises :class:`BrokerUnavailable` and nothing is
    recorded; a message published before the failure finds no run and is dropped by the worker.
    """
    from ..storage.models import JobRun

    registry = job_registry(app)
    names = select_jobs(registry, only)  # an unknown name is refused before the broker is contacted
    if not names:
        return []
    moment = utc(now or app.now())
    messages = [JobMessage(job=name, moment=moment, run_id=new_run_id()) for name in names]
    broker = make_broker(settings)
    try:
        try:
            _connect(broker, settings)
        except Exception as exc:
            raise _unavailable(settings, exc) from exc
        with app.unit_of_work() as uow:
            queued_at = utcnow()
            uow.session.add_all(
                [
                    JobRun(
                        run_id=m.run_id,
                        job=m.job,
                        moment=m.moment,
                        status=QUEUED,
                        via=VIA_WORKERS,
                        attempts=0,
                        queued_at=queued_at,
                    )
                    for m in messages
                ]
            )
            uow.session.flush()
            try:
                enqueue_job_messages(broker, settings, messages)
            except Exception as exc:
                raise _unavailable(settings, exc) from exc
    finally:
        try:
            broker.close()
        except Exception:  # closing a connection that never opened
            log.debug("closing the broker failed", exc_info=True)
    return [{"job": m.job, "run_id": m.run_id, "status": QUEUED} for m in messages]


def _unavailable(settings: BrokerSettings, exc: BaseException) -> BrokerUnavailable:
    detail = str(exc) or type(exc).__name__
    return BrokerUnavailable(
        f"cannot hand the jobs to the workers: the broker ({settings.describe()}) is not "
        f"reachable or refused them ({type(exc).__name__}: {detail[:300]}); nothing was "
        "handed off",
        field="broker",
    )


def wait_for_runs(
    app, handed: list[dict[str, Any]], timeout: float, *, interval: float = 0.2
) -> list[dict[str, Any]]:
    """Wait up to ``timeout`` seconds for the handed-off runs to finish; the outcome of each, in order.

    Each result has ``job``, ``run_id``, ``status``, ``ok`` and ``summary`` (finished ``ok``) or ``error``
    (``failed``, or not finished in time).
    """
    ids = [h["run_id"] for h in handed]
    deadline = time.monotonic() + timeout
    while True:
        runs = runs_by_id(app, ids)
        done = all(runs.get(i, {}).get("status") in FINISHED for i in ids)
        if done or time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    results = []
    for h in handed:
        run = runs.get(h["run_id"]) or {"status": QUEUED}
        r = {
            "job": h["job"],
            "run_id": h["run_id"],
            "status": run["status"],
            "ok": run["status"] == OK,
        }
        if run["status"] == OK:
            r["summary"] = run.get("summary") or {}
        elif run["status"] == FAILED:
            r["error"] = run.get("error") or "failed"
        else:
            hint = " (is a `crm worker` running on this broker?)" if run["status"] == QUEUED else ""
            r["error"] = f"not finished within {timeout:g} s: still {run['status']}{hint}"
        results.append(r)
    return results


# -- the worker's side ---------------------------------------------------------------------------------------
def job_should_retry(retries: int, exception: BaseException) -> bool:
    """Dramatiq ``retry_when`` of the job actor: wait for an uncommitted hand-off, retry infrastructure errors
    (the job's own failures are recorded, not retried)."""
    from dramatiq import Retry

    from .actors import HOOK_ATTEMPTS

    if isinstance(exception, Retry):
        return retries < HANDOFF_WAITS
    return retries < HOOK_ATTEMPTS


def handle_job_message(app, body: Any, *, worker: str) -> str:
    """Run the job of one message once in effect: ``ok``, ``failed`` or ``duplicate``.

    :raises HandOffNotRecorded: the hand-off has not committed (yet).
    """
    message = JobMessage.from_message(body)
    return run_handed_off(app, message.run_id, message.job, message.moment, worker=worker)


def declare_job_actor(broker, queue: str, app, worker: str):
    """Declare ``crm_run_job`` on ``broker`` for the jobs ``queue``: each message runs one job in ``app``."""
    import dramatiq
    from dramatiq.middleware import CurrentMessage

    def crm_run_job(body):
        message = CurrentMessage.get_current_message()
        try:
            outcome = handle_job_message(app, body, worker=worker)
        except HandOffNotRecorded as missing:
            waits = message.options.get("retries", 0) if message is not None else HANDOFF_WAITS
            if waits >= HANDOFF_WAITS:
                log.warning("%s; dropped after %d waits", missing, waits)
                return None
            raise dramatiq.Retry(delay=HANDOFF_WAIT_MS) from None
        except ValidationError as bad:
            log.error("job message dropped: %s", bad)
            return None
        if outcome == DUPLICATE:
            log.info("job run %s was already finished; repeat delivery ignored", body.get("run_id"))
        else:
            log.info("job %s (run %s): %s", body.get("job"), body.get("run_id"), outcome)
        return None

    return dramatiq.Actor(
        crm_run_job,
        broker=broker,
        actor_name=JOB_ACTOR,
        queue_name=queue,
        priority=0,
        options={"retry_when": job_should_retry, "time_limit": JOB_TIME_LIMIT_MS},
    )
