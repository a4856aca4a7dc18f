"""How much survey triggers add to recording purchases, against the kernel alone (raw baseline), same run.

Records N purchases (one unit of work, as an import does) for 200 customers on a fresh SQLite database:
  baseline  — kernel only, no plugins enabled
  idle      — surveys enabled, no survey defined
  triggered — surveys enabled, two active surveys with purchase (SKU) and spend triggers
and then answers every invitation through record_answer (responses + interactions + events).

Run: CRMCORE_PLUGINS_ONLY=surveys .venv/bin/python plugins/surveys/benchmarks/bench_triggers.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from crmcore.api import CRM, add_customer, get_customer, record_interaction

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
CUSTOMERS = 200


def fresh(tmp: Path, name: str, plugins: list[str]) -> CRM:
    app = CRM(f"sqlite:///{tmp / name}.db", plugins=plugins)
    app.init()
    with app.unit_of_work() as uow:
        for n in range(CUSTOMERS):
            add_customer(uow, name=f"مشتری {n}", phones=[f"0912{n:07d}"], consent_sms=True)
    return app


def record_purchases(app: CRM) -> float:
    start = time.perf_counter()
    with app.unit_of_work() as uow:
        customers = [get_customer(uow.session, n + 1) for n in range(CUSTOMERS)]
        for k in range(N):
            sku = "SAF-05" if k % 3 == 0 else "TEA-01"
            record_interaction(
                uow,
                customers[k % CUSTOMERS],
                kind="purchase",
                amount=str(900000 + k),
                payload={"lines": [{"sku": sku, "quantity": 1, "amount": str(900000 + k)}]},
            )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base_app = fresh(tmp, "baseline", [])
        baseline = record_purchases(base_app)
        idle_app = fresh(tmp, "idle", ["surveys"])
        idle = record_purchases(idle_app)
        app = fresh(tmp, "triggered", ["surveys"])
        from crmcore_surveys.service import create_survey, definition_from_template

        with app.unit_of_work() as uow:
            create_survey(
                uow,
                name="saffron",
                title="x",
                questions=definition_from_template("nps"),
                triggers=["purchase sku=SAF-05"],
            )
            create_survey(
                uow,
                name="spend",
                title="x",
                questions=definition_from_template("csat"),
                triggers=["spend at_least=20000000 days=30"],
            )
        triggered = record_purchases(app)
        from crmcore_surveys.answers import record_answer
        from crmcore_surveys.models import Invitation
        from sqlalchemy import select

        with app.unit_of_work() as uow:
            tokens = list(uow.session.scalars(select(Invitation.token)))
        start = time.perf_counter()
        with app.unit_of_work() as uow:
            for k, token in enumerate(tokens):
                name = uow.session.scalar(
                    select(Invitation).where(Invitation.token == token)
                ).survey.name
                record_answer(
                    uow, token, {"nps": k % 11} if name == "saffron" else {"csat": 1 + k % 5}
                )
        answering = time.perf_counter() - start
        for a in (base_app, idle_app, app):
            a.dispose()
    print(f"{N} purchases, {CUSTOMERS} customers (SQLite)")
    print(
        f"baseline (kernel only)     {baseline:7.3f} s  {N / baseline:8.0f} purchases/s  ratio 1.00"
    )
    print(
        f"surveys enabled, idle      {idle:7.3f} s  {N / idle:8.0f} purchases/s  ratio {idle / baseline:.2f}"
    )
    print(
        f"surveys with 2 triggers    {triggered:7.3f} s  {N / triggered:8.0f} purchases/s  ratio {triggered / baseline:.2f}"
    )
    print(
        f"answers: {len(tokens)} in {answering:.3f} s ({len(tokens) / answering:.0f}/s; "
        f"{answering / len(tokens) * 1000:.2f} ms each vs {baseline / N * 1000:.2f} ms per raw purchase)"
    )


if __name__ == "__main__":
    main()
