"""``uow.emit_many``: the same outbox rows, flushed at the same points, and the same hook calls as ``emit``
one event at a time."""

from sqlalchemy import select

from crmcore.api import hookimpl
from crmcore.storage.models import OutboxEvent
from crmcore.testing import make_customer
from crmcore.uow import OUTBOX_BATCH


class Listener:
    def __init__(self):
        self.calls: list[tuple[int, str]] = []

    @hookimpl
    def crm_customer_created(self, uow, customer):
        self.calls.append(customer)


def outbox(app) -> list[tuple]:
    with app.unit_of_work(readonly=True) as uow:
        return [
            (e.event, e.customer_id, e.payload, e.created_at)
            for e in uow.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]


def emit_both_ways(app, cid: int, count: int) -> tuple[tuple[list, list], tuple[list, list]]:
    """Rows written by ``count`` events emitted one by one, then by ``emit_many``, and the distinct stamps of
    each run (the clock moves on at every outbox flush, so a flush at another point would show in them)."""

    def run(many: bool) -> tuple[list, list]:
        with app.unit_of_work() as uow:
            flush = uow.flush_outbox

            def flush_then_tick():
                flush()
                app.clock.advance(seconds=1)

            uow.flush_outbox = flush_then_tick
            uow.emit(
                "crm_customer_updated",
                customer_id=cid,
                data={"before": True},
                customer=None,
                changes={},
            )
            events = [(cid, {"n": n}) for n in range(count)]
            if many:
                uow.emit_many("crm_customer_created", events, customer=[None] * count)
            else:
                for customer_id, data in events:
                    uow.emit(
                        "crm_customer_created", customer_id=customer_id, data=data, customer=None
                    )
        rows = outbox(app)
        with app.unit_of_work() as uow:
            uow.session.execute(OutboxEvent.__table__.delete())
        return (
            [(event, customer_id, payload) for event, customer_id, payload, _at in rows],
            sorted({at for *_rest, at in rows}),
        )

    return run(False), run(True)


def test_without_listeners_the_same_rows_are_flushed_at_the_same_points(crm_app):
    cid = make_customer(crm_app, "Ali")
    with crm_app.unit_of_work() as uow:
        uow.session.execute(OutboxEvent.__table__.delete())
    (rows_one, stamps_one), (rows_many, stamps_many) = emit_both_ways(
        crm_app, cid, 2 * OUTBOX_BATCH + 7
    )
    assert rows_many == rows_one and len(rows_one) == 2 * OUTBOX_BATCH + 8
    assert (
        len(stamps_one) == len(stamps_many) == 3
    )  # two full outbox batches and the rest at the commit
    assert [s - stamps_one[0] for s in stamps_one] == [s - stamps_many[0] for s in stamps_many]


def test_with_a_listener_every_event_is_announced_in_order(crm_app_factory):
    listener = Listener()
    app = crm_app_factory(extra_plugins=[("listener", listener, None)])
    cid = make_customer(app, "Ali")
    listener.calls.clear()
    with app.unit_of_work() as uow:
        uow.emit_many(
            "crm_customer_created", [(cid, {"n": 1}), (cid, {"n": 2})], customer=["first", "second"]
        )
    assert listener.calls == ["first", "second"]
    assert [r[2] for r in outbox(app)[-2:]] == [{"n": 1}, {"n": 2}]
