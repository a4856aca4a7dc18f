"""Scheduled jobs contributed by plugins (``crm_jobs``) and run by ``crm jobs run`` (cron-friendly)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import attrs

from .errors import CRMError, NotFound


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


def run_jobs(app, *, now: datetime | None = None, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Run each job in its own unit of work; a failing job is rolled back and reported, the others run."""
    registry = job_registry(app)
    if only:
        unknown = [n for n in only if n not in registry]
        if unknown:
            raise NotFound(f"unknown job {unknown[0]!r} (available: {', '.join(registry) or 'none'})", field="job")
    results = []
    for name, job in registry.items():
        if only and name not in only:
            continue
        try:
            with app.unit_of_work(actor=f"job:{name}") as uow:
                summary = job.run(uow, now or uow.now())
            results.append({"job": name, "ok": True, "summary": summary or {}})
        except CRMError as exc:
            results.append({"job": name, "ok": False, "error": str(exc)})
    return results
