"""Imports announce batches: a plugin with the batch forms gets one call per batch with light
records (and no per-row call); a plugin with only the per-row hooks still sees every customer and
interaction."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import (
    Batch,
    CustomerChange,
    NewCustomer,
    RecordedInteraction,
    Refusal,
    add_customer,
    hookimpl,
)
from crmcore.importing import import_customers, import_interactions
from crmcore.services.plugins import import_paths
from crmcore.storage.models import Customer, OutboxEvent

from .conftest import Watcher, write_csv


class BatchWatcher:
    """Implements the batch forms (and the per-row ones, for live commands); refuses a name and a
    code."""

    def __init__(self, refuse: str = "Mallory"):
        self.refuse = refuse
        self.batches: list[tuple[str, list]] = []
        self.per_row: list[str] = []
        self.history: list[bool] = []

    @hookimpl
    def crm_validate_customers(self, uow, customers, batch):
        self.batches.append(("validate", customers))
        out = []
        for i, c in enumerate(customers):
            if isinstance(c, NewCustomer) and c.name == self.refuse:
                out.append(Refusal(i, f"batch watcher refuses {c.name}"))
            if isinstance(c, CustomerChange) and c.attributes.get("level") == "refused":
                out.append(Refusal(i, "batch watcher refuses level refused"))
        return out

    @hookimpl
    def crm_customers_created(self, uow, customers, batch):
        assert isinstance(batch, Batch) and batch.source == "import"
        assert all(isinstance(c, NewCustomer) and c.id for c in customers)
        self.batches.append(("created", customers))

    @hookimpl
    def crm_customers_updated(self, uow, customers, batch):
        self.batches.append(("updated", customers))

    @hookimpl
    def crm_interactions_recorded(self, uow, interactions, batch):
        assert all(isinstance(i, RecordedInteraction) for i in interactions)
        self.batches.append(("recorded", interactions))
        self.history.append(batch.history)

    @hookimpl
    def crm_validate_customer(self, uow, customer, changes):
        self.per_row.append("validate")

    @hookimpl
    def crm_customer_created(self, uow, customer):
        self.per_row.append("created")

    @hookimpl
    def crm_customer_updated(self, uow, customer, changes):
        self.per_row.append("updated")

    @hookimpl
    def crm_interaction_recorded(self, uow, interaction, customer):
        self.per_row.append("recorded")

    def seen(self, kind: str) -> list:
        return [record for k, records in self.batches if k == kind for record in records]


def people(tmp_path, n: int = 30):
    rows = [["name", "phone", "email", "attr.level"]]
    rows += [[f"P{i}", f"0912{i:07d}", f"p{i}@x.ir", ""] for i in range(n)]
    rows += [["P0 again", "09120000000", "", "gold"], ["Mallory", "09129999999", "", ""]]
    return write_csv(tmp_path / "people.csv", rows)


def level_plugin():
    from crmcore.api import AttributeSpec

    class Levels:
        @hookimpl
        def crm_customer_attributes(self):
            return [AttributeSpec("level", "str")]

    return ("levels", Levels(), None)


def test_a_batch_plugin_gets_batches_and_no_per_row_call(crm_app_factory, tmp_path):
    watcher = BatchWatcher()
    app = crm_app_factory(extra_plugins=[("batch", watcher, None), level_plugin()])
    s = import_customers(app, people(tmp_path), batch_size=7)
    assert (s.created, s.merged, s.rejected) == (30, 1, 1)
    assert "batch watcher refuses Mallory" in s.rejections[0].reason
    created = watcher.seen("created")
    assert sorted(c.name for c in created) == sorted(f"P{i}" for i in range(30))
    assert (
        len([k for k, _ in watcher.batches if k == "created"]) == 5
    )  # 31 rows in batches of 7, one refused
    with app.unit_of_work() as uow:
        p0 = uow.session.scalar(select(Customer).where(Customer.display_name == "P0"))
        assert next(c for c in created if c.name == "P0").phones == ("+989120000000",)
        outbox = uow.session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event == "crm_customer_created")
        )
    assert outbox == 30  # external consumers still get one event per customer
    [change] = watcher.seen("updated")
    assert change.id == p0.id and change.changes["attributes"][1] == {"level": "gold"}
    assert watcher.per_row == []
    # the live path still calls the per-row hooks
    with app.unit_of_work() as uow:
        add_customer(uow, name="Live")
    assert watcher.per_row == ["validate", "created"]


def test_a_batch_validator_refuses_a_merge(crm_app_factory, tmp_path):
    watcher = BatchWatcher()
    app = crm_app_factory(extra_plugins=[("batch", watcher, None), level_plugin()])
    import_customers(
        app, write_csv(tmp_path / "a.csv", [["name", "phone"], ["Ali", "09121111111"]])
    )
    s = import_customers(
        app,
        write_csv(
            tmp_path / "b.csv", [["name", "phone", "attr.level"], ["Ali", "09121111111", "refused"]]
        ),
    )
    assert s.rejected == 1 and "batch watcher refuses level refused" in s.rejections[0].reason
    with app.unit_of_work() as uow:
        assert (
            uow.session.scalar(select(Customer.attributes).where(Customer.display_name == "Ali"))
            == {}
        )


def test_a_per_row_plugin_sees_every_customer_beside_a_batch_plugin(crm_app_factory, tmp_path):
    rows_only, batches = Watcher(refuse_name="Mallory"), BatchWatcher(refuse="nobody")
    app = crm_app_factory(
        extra_plugins=[("watcher", rows_only, None), ("batch", batches, None), level_plugin()]
    )
    s = import_customers(app, people(tmp_path), batch_size=7)
    assert (s.created, s.rejected) == (30, 1)
    assert sorted(rows_only.created) == sorted(c.id for c in batches.seen("created"))
    assert len(rows_only.created) == 30 and batches.per_row == []


def test_interactions_reach_both_kinds_of_plugin(crm_app_factory, tmp_path):
    rows_only, batches = Watcher(), BatchWatcher()
    app = crm_app_factory(extra_plugins=[("watcher", rows_only, None), ("batch", batches, None)])
    rows = [["customer", "date", "amount", "currency"]]
    rows += [[f"C{i % 4}", f"2024-01-{1 + i:02d}", str(10 + i), "USD"] for i in range(12)]
    s = import_interactions(
        app,
        write_csv(tmp_path / "h.csv", rows),
        create_customers=True,
        kind="purchase",
        batch_size=5,
    )
    assert s.recorded == 12 and s.customers_created == 4
    recorded = batches.seen("recorded")
    assert len(recorded) == 12 and len(rows_only.recorded) == 12
    assert sorted((r.customer_id, r.occurred_at.isoformat()) for r in recorded) == sorted(
        rows_only.recorded
    )
    assert {r.amount_minor for r in recorded} == {(10 + i) * 100 for i in range(12)}
    assert len(batches.seen("created")) == 4 and batches.per_row == []


def test_plugins_list_marks_the_per_row_only_ones(crm_app_factory):
    app = crm_app_factory(
        extra_plugins=[("watcher", Watcher(), None), ("batch", BatchWatcher(), None)]
    )
    slow = import_paths(app)
    assert slow["watcher"] == [
        "crm_customer_created",
        "crm_interaction_recorded",
        "crm_validate_customer",
    ]
    assert "batch" not in slow


def test_a_plugin_is_slow_for_each_per_row_hook_without_its_batch_form():
    from crmcore.services.plugins import per_row_only

    assert per_row_only(
        ["crm_customer_created", "crm_customers_created", "crm_interaction_recorded", "crm_reports"]
    ) == ["crm_interaction_recorded"]
    assert per_row_only(["crm_customers_merged", "crm_jobs"]) == []


def test_a_history_import_says_so_to_the_batch_hooks(crm_app_factory, tmp_path):
    watcher = BatchWatcher()
    app = crm_app_factory(extra_plugins=[("batch", watcher, None)])
    rows = [["customer", "date", "amount", "currency"], ["C1", "2020-01-01", "5", "USD"]]
    import_interactions(
        app,
        write_csv(tmp_path / "old.csv", rows),
        create_customers=True,
        kind="purchase",
        history=True,
    )
    import_interactions(
        app,
        write_csv(tmp_path / "new.csv", rows[:1] + [["C1", "2024-01-01", "5", "USD"]]),
        kind="purchase",
    )
    assert watcher.history == [True, False]
