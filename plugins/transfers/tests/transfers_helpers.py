"""Helpers for the transfers tests: load a program with a [transfers] section through the loyalty CLI, give
points through the loyalty public API, read balances, lots and transfers."""

from __future__ import annotations

import itertools
from datetime import datetime

from crmcore_loyalty import api as loyalty
from crmcore_transfers import service

PROGRAM = """
[program]
name = "باشگاه آزمون"
calendar = "{calendar}"
expiry = "{expiry}"

[transfers]
{transfers}
"""
_files = itertools.count(1)


def load_policy(
    crm_cli, tmp_path, transfers: str, *, calendar: str = "jalali", expiry: str = "never"
) -> None:
    path = tmp_path / f"program-{next(_files)}.toml"
    path.write_text(
        PROGRAM.format(calendar=calendar, expiry=expiry, transfers=transfers), encoding="utf-8"
    )
    result = crm_cli("loyalty", "program", "load", str(path))
    assert result.exit_code == 0, result.stderr


def give(app, customer_id: int, points: int, expires_at: datetime | None = None) -> None:
    with app.unit_of_work() as uow:
        loyalty.credit(
            uow, customer_id, points, kind="adjust", reason="test points", expires_at=expires_at
        )


def balance(app, customer_id: int) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return loyalty.balance(uow, customer_id)


def open_lots(app, customer_id: int) -> list[tuple[int, datetime | None]]:
    """``(remaining, expires_at)`` of the member's open lots, soonest expiry first."""
    with app.unit_of_work(readonly=True) as uow:
        return sorted(
            ((lot.remaining, lot.expires_at) for lot in loyalty.lots(uow, customer_id)),
            key=lambda x: (x[1] is None, x[1].timestamp() if x[1] else 0, x[0]),
        )


def kinds(app, customer_id: int) -> list[tuple[str, int]]:
    with app.unit_of_work(readonly=True) as uow:
        return [(e.kind, e.points) for e in loyalty.ledger(uow, customer_id)]


def send(app, sender: int, recipient: int, points: int, **kwargs) -> dict:
    with app.unit_of_work() as uow:
        transfer, _ = service.send(uow, sender, recipient, points, **kwargs)
        return service.transfer_to_dict(transfer)


def act(app, action: str, transfer_id: int, *args) -> dict:
    with app.unit_of_work() as uow:
        return service.transfer_to_dict(getattr(service, action)(uow, transfer_id, *args))


def show(app, transfer_id: int) -> dict:
    with app.unit_of_work(readonly=True) as uow:
        return service.transfer_to_dict(service.get_transfer(uow, transfer_id), history=True)
