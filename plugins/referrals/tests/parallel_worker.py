"""A worker process of the parallel purchase test (spawned: imports nothing from the parent)."""
from __future__ import annotations


def run(url: str, friend_id: int, amount: int, tag: str, barrier, results) -> None:
    """Record one purchase of ``friend_id`` right after every worker reached the barrier."""
    from crmcore.api import CRM, get_customer, record_interaction

    app = CRM(url, plugins=["loyalty", "referrals"], actor=f"worker-{tag}")
    app.plugins  # load plugins before the race
    try:
        barrier.wait()
        with app.unit_of_work() as uow:
            record_interaction(uow, get_customer(uow.session, friend_id), kind="purchase",
                               amount=str(amount), currency="IRR", external_id=f"race-{tag}")
        results.put(("ok", tag))
    except Exception as exc:  # the test fails on any of these
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        app.dispose()
