"""A worker process of the parallel transfer test (spawned: imports nothing from the parent)."""

from __future__ import annotations


def run(
    url: str, now_iso: str, plan: list[tuple[int, int, int, str | None]], barrier, results
) -> None:
    """Send each ``(sender, recipient, points, key)`` of ``plan`` in its own unit of work, as fast as possible
    after every worker reached the barrier; report ``(ok, refusals, unexpected)`` on ``results``."""
    from datetime import datetime

    from crmcore_transfers import service

    from crmcore.api import CRM, CRMError

    moment = datetime.fromisoformat(now_iso)
    app = CRM(url, plugins=["loyalty", "transfers"], clock=lambda: moment, actor="worker")
    app.plugins  # load plugins before the race
    ok, refusals, unexpected = [], [], []
    barrier.wait()
    for sender, recipient, points, key in plan:
        try:
            with app.unit_of_work() as uow:
                transfer, _ = service.send(uow, sender, recipient, points, key=key)
                ok.append(transfer.id)
        except CRMError as exc:
            refusals.append(str(exc))
        except (
            Exception
        ) as exc:  # deadlocks, serialisation failures, duplicate keys: the test fails on them
            unexpected.append(f"{type(exc).__name__}: {exc}")
    app.dispose()
    results.put((ok, refusals, unexpected))
