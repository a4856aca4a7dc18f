"""The per-batch lookups of the importers: right answers, and (on PostgreSQL) plans that use the indexes even
for rows added in the same, not yet analysed, transaction — the shape that kept a 10-million-row import
from slowing down batch after batch."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from crmcore.importing.lookups import active_owners, customers_by_external_id, stored_external_ids
from crmcore.services.customers import add_customer
from crmcore.storage.bulk import insert_with_ids
from crmcore.storage.models import Customer, CustomerEmail, CustomerPhone, Interaction

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _purchases(uow, customer_id: int, count: int, start: int = 0) -> list[int]:
    return insert_with_ids(
        uow.session,
        Interaction.__table__,
        [
            {
                "customer_id": customer_id,
                "kind": "purchase",
                "channel": None,
                "direction": None,
                "occurred_at": NOW,
                "amount_minor": 1000,
                "currency": "IRR",
                "external_id": f"F{n:07d}",
                "related_id": None,
                "payload": {},
                "recorded_at": NOW,
                "recorded_by": "test",
            }
            for n in range(start, start + count)
        ],
    )


def test_stored_external_ids_by_kind(crm_app):
    with crm_app.unit_of_work() as uow:
        c = add_customer(uow, name="علی", phones=["09121234567"])
        ids = _purchases(uow, c.id, 3)
        found = stored_external_ids(uow.session, "purchase", ["F0000001", "F0000002", "F9999999"])
        assert found == {"F0000001": ids[1], "F0000002": ids[2]}
        assert stored_external_ids(uow.session, "refund", ["F0000001"]) == {}
        assert stored_external_ids(uow.session, "purchase", []) == {}
        coded = add_customer(uow, name="کاوه", external_id="C-7")
        assert customers_by_external_id(uow.session, ["C-7", "C-8"]) == [
            (coded.id, "C-7", None, None)
        ]


def test_active_owners_skip_merged_and_forgotten(crm_app):
    with crm_app.unit_of_work() as uow:
        live = add_customer(uow, name="سارا", phones=["09120000001"], emails=["sara@example.ir"])
        merged = add_customer(uow, name="سارا ۲", phones=["09120000002"], emails=["s2@example.ir"])
        forgotten = add_customer(uow, name="سارا ۳", phones=["09120000003"])
        uow.session.flush()
        uow.session.get(Customer, merged.id).merged_into_id = live.id
        uow.session.get(Customer, forgotten.id).forgotten_at = NOW
        uow.session.flush()
        phones = active_owners(
            uow.session, CustomerPhone.e164, ["+989120000001", "+989120000002", "+989120000003"]
        )
        assert phones == [("+989120000001", live.id)]
        assert active_owners(
            uow.session, CustomerEmail.email, ["sara@example.ir", "s2@example.ir"]
        ) == [("sara@example.ir", live.id)]


def _plans(conn, run) -> list[str]:
    """The EXPLAIN output of every statement ``run()`` executes on ``conn``."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    return [
        "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
        for sql, params in seen
    ]


def test_postgresql_plans_probe_the_indexes_in_a_growing_transaction(crm_app, crm_backend):
    if crm_backend != "postgresql":
        return  # SQLite's planner uses the index for an IN list by its own rules
    with crm_app.unit_of_work() as uow:
        c = add_customer(uow, name="Reza", phones=["09121111111"], emails=["reza@example.ir"])
        _purchases(uow, c.id, 20_000)  # uncommitted: no statistics for these rows
        uow.session.flush()
        conn = uow.session.connection()
        plans = _plans(
            conn,
            lambda: (
                stored_external_ids(
                    uow.session, "purchase", [f"F{n:07d}" for n in range(0, 20_000, 4)]
                ),
                active_owners(
                    uow.session,
                    CustomerPhone.e164,
                    ["+989121111111"] + [f"+98912{n:07d}" for n in range(3000)],
                ),
                active_owners(
                    uow.session, CustomerEmail.email, ["reza@example.ir", "x@example.ir"]
                ),
                customers_by_external_id(uow.session, ["C-1", "C-2"]),
            ),
        )
        assert (
            len(plans) == 6
        )  # external ids; phones, their customers; emails, their customers; codes
        for plan in plans:
            assert "Nested Loop" in plan and "Seq Scan" not in plan, plan
        assert "uq_interactions_kind_external_id" in plans[0], plans[0]
        assert uow.session.execute(text("SELECT count(*) FROM interactions")).scalar() == 20_000
