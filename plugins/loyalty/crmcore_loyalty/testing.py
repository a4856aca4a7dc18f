"""Helpers for tests of loyalty and of plugins built on it: load a program text, read balances and entries."""
from crmcore_loyalty import api
from crmcore_loyalty.programs import load_program

BASE = """
[program]
name = "test"
expiry = "12 months"
negative_balance = "{policy}"
[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"
"""


def load(app, text: str):
    with app.unit_of_work() as uow:
        return load_program(uow, text)[0]


def load_base(app, policy: str = "clawback", extra: str = ""):
    return load(app, BASE.format(policy=policy) + extra)


def balance(app, cid: int) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return api.balance(uow, cid)


def kinds(app, cid: int) -> list[tuple[str, int]]:
    with app.unit_of_work(readonly=True) as uow:
        return [(e.kind, e.points) for e in api.ledger(uow, cid)]
