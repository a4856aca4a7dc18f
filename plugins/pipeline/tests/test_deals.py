from datetime import date, datetime, timezone

import pytest
from crmcore_pipeline import service
from crmcore_pipeline.models import Deal, Pipeline, Stage, StageHistory
from sqlalchemy import select

from crmcore.api import Conflict, Money, NotFound, ValidationError
from crmcore.testing import make_customer, outbox_events


def history(app, deal_id):
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(
            select(StageHistory).where(StageHistory.deal_id == deal_id).order_by(StageHistory.id)
        ).all()
        return [(h.from_stage.code if h.from_stage else None, h.to_stage.code, h.at) for h in rows]


def deal_state(app, deal_id):
    with app.unit_of_work(readonly=True) as uow:
        d = uow.session.get(Deal, deal_id)
        return {
            "stage": d.stage.code,
            "status": d.status,
            "amount": d.amount_minor,
            "currency": d.currency,
            "probability": d.effective_probability,
            "override": d.probability,
            "owner": d.owner and d.owner.username,
            "expected_close": d.expected_close,
            "closed_at": d.closed_at,
            "reason": d.close_reason and d.close_reason.code,
            "customer": d.customer_id,
            "last_activity_at": d.last_activity_at,
        }


@pytest.fixture
def customer(crm_app):
    return make_customer(crm_app, "شرکت بازرگانی کریمی", phones=["09121234567"])


def test_the_default_pipeline_is_seeded_with_persian_stages(crm_app, run):
    with crm_app.unit_of_work() as uow:
        pipe = service.get_pipeline(uow)
        stages = [(s.code, s.name, s.probability, s.kind) for s in pipe.stages]
    assert stages == [
        ("lead", "سرنخ", 10, "open"),
        ("contact", "تماس اولیه", 20, "open"),
        ("proforma", "ارسال پیش‌فاکتور", 40, "open"),
        ("negotiation", "مذاکره", 60, "open"),
        ("won", "برنده", 100, "won"),
        ("lost", "بازنده", 0, "lost"),
    ]
    with crm_app.unit_of_work() as uow:  # seeded once
        service.get_pipeline(uow)
        assert len(uow.session.scalars(select(Pipeline)).all()) == 1


def test_a_new_deal_starts_in_the_first_stage_with_history_and_event(crm_app, customer, at):
    start = at(2025, 4, 1, 9)
    with crm_app.unit_of_work(actor="sara") as uow:
        deal = service.create_deal(
            uow,
            customer="09121234567",
            title="خرید عمده زعفران",
            amount="۱۲۵٬۰۰۰٬۰۰۰",
            expected_close="۱۴۰۴/۰۲/۱۵",
        )
        did = deal.id
    state = deal_state(crm_app, did)
    assert state["stage"] == "lead" and state["status"] == "open" and state["amount"] == 125_000_000
    assert state["expected_close"] == date(2025, 5, 5)  # 1404-02-15 in the Jalali calendar
    assert state["probability"] == 10 and state["customer"] == customer
    assert history(crm_app, did) == [(None, "lead", start)]
    events = outbox_events(crm_app, "pipeline_deal_stage_changed")
    assert [
        (e["customer_id"], e["payload"]["from_stage"], e["payload"]["to_stage"]) for e in events
    ] == [(customer, None, "lead")]


def test_stage_moves_are_recorded_with_their_time_and_announced(recorder_app, customer, at):
    app, rec = recorder_app
    t0 = at(2025, 4, 1, 9)
    with app.unit_of_work() as uow:
        did = service.create_deal(uow, customer=customer, title="T", amount="1000").id
    t1 = at(2025, 4, 3, 10)
    with app.unit_of_work() as uow:
        service.move_deal(uow, did, "تماس اوليه")  # Arabic yeh: the Persian name matches anyway
    t2 = at(2025, 4, 7, 11)
    with app.unit_of_work() as uow:
        service.move_deal(uow, did, "negotiation", note="پیش‌فاکتور حضوری تحویل شد")
    assert history(app, did) == [
        (None, "lead", t0),
        ("lead", "contact", t1),
        ("contact", "negotiation", t2),
    ]
    assert rec.calls == [
        ("stage_changed", did, None, "lead"),
        ("stage_changed", did, "lead", "contact"),
        ("stage_changed", did, "contact", "negotiation"),
    ]
    with app.unit_of_work(readonly=True) as uow:
        d = uow.session.get(Deal, did)
        assert (
            d.stage_entered_at == t2 and d.last_activity_at == t2 and d.effective_probability == 60
        )


def test_win_and_lose_close_the_deal_with_reason_and_events_in_order(recorder_app, customer, at):
    app, rec = recorder_app
    with app.unit_of_work() as uow:
        won = service.create_deal(uow, customer=customer, title="A", amount="5000000").id
        lost = service.create_deal(uow, customer=customer, title="B").id
    rec.calls.clear()
    closed = at(2025, 4, 9, 8)
    with app.unit_of_work() as uow:
        service.win_deal(uow, won, reason="کیفیت محصول", amount="5,500,000")
        service.lose_deal(uow, lost, reason="competitor", note="ارزان‌تر داد")
    assert rec.calls == [
        ("stage_changed", won, "lead", "won"),
        ("won", won, "quality"),
        ("stage_changed", lost, "lead", "lost"),
        ("lost", lost, "competitor"),
    ]
    w, lo = deal_state(app, won), deal_state(app, lost)
    assert (
        w["status"],
        w["stage"],
        w["amount"],
        w["reason"],
        w["closed_at"],
        w["probability"],
    ) == ("won", "won", 5_500_000, "quality", closed, 100)
    assert (lo["status"], lo["stage"], lo["reason"], lo["probability"]) == (
        "lost",
        "lost",
        "competitor",
        0,
    )
    assert [e["payload"]["amount"] for e in outbox_events(app, "pipeline_deal_won")] == ["5500000"]
    assert [e["payload"]["reason"] for e in outbox_events(app, "pipeline_deal_lost")] == [
        "competitor"
    ]


def test_reopen_returns_to_the_stage_it_was_closed_from(crm_app, customer, at):
    with crm_app.unit_of_work() as uow:
        did = service.create_deal(
            uow, customer=customer, title="T", amount="100", stage="proforma"
        ).id
    with crm_app.unit_of_work() as uow:
        service.lose_deal(uow, did, reason="timing")
    t = at(2025, 5, 1, 9)
    with crm_app.unit_of_work() as uow:
        service.reopen_deal(uow, did, note="مشتری دوباره تماس گرفت")
    s = deal_state(crm_app, did)
    assert (s["status"], s["stage"], s["closed_at"], s["reason"]) == (
        "open",
        "proforma",
        None,
        None,
    )
    assert [h[:2] for h in history(crm_app, did)] == [
        (None, "proforma"),
        ("proforma", "lost"),
        ("lost", "proforma"),
    ]
    assert history(crm_app, did)[-1][2] == t
    with crm_app.unit_of_work() as uow:
        service.win_deal(uow, did)
        service.reopen_deal(uow, did, stage="lead")
    assert deal_state(crm_app, did)["stage"] == "lead"
    with pytest.raises(Conflict, match="already open"):
        with crm_app.unit_of_work() as uow:
            service.reopen_deal(uow, did)


@pytest.mark.parametrize(
    "action, error, field, message",
    [
        (
            lambda uow, d: service.move_deal(uow, d, "contact"),
            Conflict,
            "deal",
            "is won; reopen it before you move",
        ),
        (lambda uow, d: service.win_deal(uow, d), Conflict, "deal", "is won"),
        (lambda uow, d: service.lose_deal(uow, d, reason="price"), Conflict, "deal", "is won"),
        (
            lambda uow, d: service.update_deal(uow, d, amount="1"),
            Conflict,
            "amount",
            "amount is final",
        ),
    ],
)
def test_a_closed_deal_cannot_be_moved_or_closed_again(
    crm_app, customer, count, action, error, field, message
):
    with crm_app.unit_of_work() as uow:
        did = service.create_deal(uow, customer=customer, title="T", amount="900")
        service.win_deal(uow, did.id)
        did = did.id
    before = count(StageHistory)
    with pytest.raises(error, match=message) as err:
        with crm_app.unit_of_work() as uow:
            action(uow, did)
    assert err.value.field == field
    assert count(StageHistory) == before
    assert deal_state(crm_app, did)["status"] == "won"


@pytest.mark.parametrize(
    "fields, error, field, message",
    [
        ({"amount": "-5"}, ValidationError, "amount", "cannot be negative"),
        ({"amount": "12.5"}, ValidationError, "amount", "more decimals than IRR"),
        ({"amount": "ده"}, ValidationError, "amount", "is not an amount"),
        ({"probability": "101"}, ValidationError, "probability", "between 0 and 100"),
        ({"probability": "-1"}, ValidationError, "probability", "between 0 and 100"),
        ({"probability": "12.5"}, ValidationError, "probability", "whole percent"),
        (
            {"stage": "qualified"},
            NotFound,
            "stage",
            "unknown stage 'qualified' in pipeline 'default' (stages: lead",
        ),
        ({"stage": "won"}, ValidationError, "stage", "starts in an open stage"),
        ({"expected_close": "1404/12/31"}, ValidationError, "expected_close", "Jalali calendar"),
        ({"currency": "XYZ"}, ValidationError, "currency", "unknown currency"),
        ({"owner": "nobody"}, NotFound, "owner", "unknown sales rep 'nobody'"),
        ({"title": "  "}, ValidationError, "title", "a title is required"),
        ({"customer": "999"}, NotFound, "customer", "no customer matches"),
        ({"pipeline": "b2b"}, NotFound, "pipeline", "unknown pipeline 'b2b' (pipelines: default)"),
    ],
)
def test_bad_deal_input_is_refused_with_the_field_and_nothing_is_stored(
    crm_app, customer, count, fields, error, field, message
):
    args = {"customer": customer, "title": "T", **fields}
    with pytest.raises(error) as err:
        with crm_app.unit_of_work() as uow:
            service.create_deal(uow, **args)
    assert err.value.field == field
    assert message in str(err.value)
    assert count(Deal) == 0 and count(StageHistory) == 0
    assert outbox_events(crm_app, "pipeline_deal_stage_changed") == []


def test_bad_moves_are_refused_and_leave_the_deal_as_it_was(crm_app, customer, count):
    with crm_app.unit_of_work() as uow:
        did = service.create_deal(uow, customer=customer, title="T").id
    for stage, error, message in [
        ("nowhere", NotFound, "unknown stage 'nowhere'"),
        ("lead", ValidationError, "already in stage 'lead'"),
        ("won", ValidationError, "use: crm pipeline deals win"),
        ("بازنده", ValidationError, "deals lose"),
    ]:
        with pytest.raises(error, match=message):
            with crm_app.unit_of_work() as uow:
                service.move_deal(uow, did, stage)
    with pytest.raises(ValidationError, match="has no amount") as err:
        with crm_app.unit_of_work() as uow:
            service.win_deal(uow, did, reason="price")
    assert err.value.field == "amount"
    with pytest.raises(ValidationError, match="needs a reason"):
        with crm_app.unit_of_work() as uow:
            service.lose_deal(uow, did, reason=None)
    with pytest.raises(NotFound, match="unknown lost reason 'weather'.*price, competitor"):
        with crm_app.unit_of_work() as uow:
            service.lose_deal(uow, did, reason="weather")
    with pytest.raises(NotFound, match="no deal with id 99"):
        with crm_app.unit_of_work() as uow:
            service.move_deal(uow, 99, "contact")
    assert (
        deal_state(crm_app, did)["stage"] == "lead" and deal_state(crm_app, did)["status"] == "open"
    )
    assert count(StageHistory) == 1 and outbox_events(crm_app, "pipeline_deal_won") == []


def test_update_overrides_probability_and_recomputes_weighted_amount(crm_app, customer, run):
    run(service.add_rep, "sara", "سارا")
    did = run(
        service.create_deal, customer=customer, title="T", amount="20000001"
    )  # round-robin: sara
    changes = run(
        service.update_deal, did, probability="۳۵٪", expected_close="2025-06-01", owner="sara"
    )
    assert changes == {"probability": [None, 35], "expected_close": [None, "2025-06-01"]}
    with crm_app.unit_of_work(readonly=True) as uow:
        data = service.deal_to_dict(uow.session.get(Deal, did), calendar="jalali")
    assert (data["probability"], data["probability_override"], data["weighted_amount"]) == (
        35,
        35,
        "7000000",
    )
    assert data["expected_close_jalali"] == "1404-03-11"
    run(service.update_deal, did, probability=None, amount="", owner="")
    s = deal_state(crm_app, did)
    assert (s["override"], s["probability"], s["amount"], s["owner"]) == (None, 10, None, None)
    with pytest.raises(ValidationError, match="cannot change stage"):
        run(service.update_deal, did, stage="contact")


def test_amounts_keep_their_currency_exactly(crm_app, customer, run):
    did = run(
        service.create_deal,
        customer=customer,
        title="T",
        amount="1234.50",
        currency="usd",
        stage="negotiation",
    )
    with crm_app.unit_of_work(readonly=True) as uow:
        data = service.deal_to_dict(uow.session.get(Deal, did))
    assert (data["amount"], data["currency"], data["weighted_amount"]) == (
        "1234.50",
        "USD",
        "740.70",
    )


def test_activity_and_customer_contact_keep_a_deal_fresh(crm_app, customer, at):
    at(2025, 4, 1, 9)
    with crm_app.unit_of_work() as uow:
        did = service.create_deal(uow, customer=customer, title="T").id
    logged = at(2025, 4, 5, 9)
    with crm_app.unit_of_work() as uow:
        service.log_activity(
            uow,
            did,
            kind="call",
            note="قرار جلسه",
            next_activity="ارسال نمونه",
            next_activity_on="1404-01-20",
        )
    s = deal_state(crm_app, did)
    assert s["last_activity_at"] == logged
    from crmcore.testing import record_purchase

    at(2025, 4, 9, 12)  # the purchase and the call below have happened
    record_purchase(
        crm_app, customer, "1000", at="2025-04-08T10:00:00Z"
    )  # a purchase is not deal work
    assert deal_state(crm_app, did)["last_activity_at"] == logged
    with crm_app.unit_of_work() as uow:
        from crmcore.api import get_customer, record_interaction

        record_interaction(
            uow,
            get_customer(uow.session, customer),
            kind="call",
            channel="phone",
            occurred_at="2025-04-09T10:00:00Z",
        )
    assert deal_state(crm_app, did)["last_activity_at"] == datetime(
        2025, 4, 9, 10, tzinfo=timezone.utc
    )
    with pytest.raises(ValidationError, match="not an activity kind") as err:
        with crm_app.unit_of_work() as uow:
            service.log_activity(uow, did, kind="fax")
    assert err.value.field == "kind"


def test_stages_can_be_added_renamed_reordered_and_removed(crm_app, run, customer):
    run(
        service.add_stage,
        None,
        "demo",
        "دمو محصول",
        "30",
        name_en="Product demo",
        before="proforma",
    )
    with crm_app.unit_of_work() as uow:
        codes = [s.code for s in service.get_pipeline(uow).stages]
    assert codes == ["lead", "contact", "demo", "proforma", "negotiation", "won", "lost"]
    run(service.update_stage, None, "demo", probability="35", before="contact", name="نمایش محصول")
    with crm_app.unit_of_work() as uow:
        stages = service.get_pipeline(uow).stages
        assert [s.code for s in stages] == [
            "lead",
            "demo",
            "contact",
            "proforma",
            "negotiation",
            "won",
            "lost",
        ]
        assert [s.position for s in stages] == list(range(7))
        assert (stages[1].name, stages[1].probability) == ("نمایش محصول", 35)
    with pytest.raises(ValidationError, match="probability is fixed"):
        run(service.update_stage, None, "won", probability="90")
    did = run(service.create_deal, customer=customer, title="T", stage="demo")
    with pytest.raises(Conflict, match="1 deal\\(s\\) are in stage 'demo'"):
        run(service.remove_stage, None, "demo")
    run(service.move_deal, did, "contact")
    with pytest.raises(Conflict, match="in the history of deals"):
        run(service.remove_stage, None, "demo")
    run(service.remove_stage, None, "proforma")
    with pytest.raises(ValidationError, match="every pipeline keeps it"):
        run(service.remove_stage, None, "lost")


def test_businesses_define_their_own_pipelines(crm_app, run, customer):
    run(service.create_pipeline, "b2b", "فروش سازمانی", default=True)
    run(service.add_stage, "b2b", "tender", "مناقصه", 25)
    run(service.add_stage, "b2b", "contract", "قرارداد", 80)
    with crm_app.unit_of_work() as uow:
        codes = [s.code for s in service.get_pipeline(uow).stages]  # now the default
    assert codes == ["tender", "contract", "won", "lost"]
    did = run(service.create_deal, customer=customer, title="T", amount="10")
    assert deal_state(crm_app, did)["stage"] == "tender"
    with pytest.raises(NotFound, match="unknown stage 'proforma' in pipeline 'b2b'"):
        run(service.move_deal, did, "proforma")
    with pytest.raises(Conflict, match="already exists"):
        run(service.create_pipeline, "b2b", "x")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(Stage.id).where(Stage.code == "contract")) is not None


def test_deals_join_the_customers_timeline_when_opened_and_closed(crm_app, at):
    from crmcore.api import get_customer
    from crmcore.testing import customer_timeline as timeline

    cid = make_customer(crm_app, "مریم رضایی")
    at(2025, 4, 1, 9)
    with crm_app.unit_of_work() as uow:
        won = service.create_deal(uow, customer=cid, title="قرارداد سالانه", amount="5000000").id
    at(2025, 4, 9, 8)
    with crm_app.unit_of_work() as uow:
        service.win_deal(uow, won, reason="کیفیت محصول")
    with crm_app.unit_of_work(readonly=True) as uow:
        page = timeline(uow, get_customer(uow.session, cid))
        deals = [(e.at.day, e.detail.en, e.value) for p, e in page.entries if p == "pipeline"]
        older = timeline(
            uow,
            get_customer(uow.session, cid),
            before=datetime(2025, 4, 5, tzinfo=timezone.utc),
            only="pipeline",
        )
    assert deals == [(9, "won", Money(5_000_000, "IRR")), (1, "opened", Money(5_000_000, "IRR"))]
    assert [(e.at.day, e.detail.en) for _, e in older.entries] == [(1, "opened")]
