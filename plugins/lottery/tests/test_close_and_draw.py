"""Freezing, eligibility, the draw (reproducible, partial, with an operator-kept seed), verification and
tampering, the winners hook."""

from datetime import datetime, timezone

import pytest
from crmcore_lottery import proof
from crmcore_lottery.campaigns import get_campaign
from crmcore_lottery.drawing import draw_campaign, frozen_document, verify_campaign, winners
from crmcore_lottery.models import LotteryCampaign, LotteryFrozenEntry, LotteryWinner
from lottery_test_helpers import END, IN_WINDOW, by_customer, close, count, draw, new_campaign
from sqlalchemy import select, update

from crmcore.api import Conflict, ValidationError, forget_customer, hookimpl, update_customer
from crmcore.testing import make_customer, outbox_events, record_purchase

UTC = timezone.utc


def members(app, n, amount="1000", **fields):
    ids = []
    for i in range(n):
        cid = make_customer(app, f"عضو {i}", **fields)
        record_purchase(app, cid, amount, at=IN_WINDOW)
        ids.append(cid)
    return ids


def verify(app, name="spring", **kwargs):
    with app.unit_of_work(readonly=True) as uow:
        return verify_campaign(uow, get_campaign(uow, name), **kwargs)


def test_closing_before_the_end_needs_early_and_publishes_the_hashes(crm_app):
    new_campaign(crm_app)
    members(crm_app, 3)
    with pytest.raises(ValidationError, match="open until 2025-04-01 03:30.*--early"):
        close(crm_app, early=False)
    assert count(crm_app, LotteryFrozenEntry) == 0
    out = close(crm_app)
    assert out["eligible"] == 3 and out["entries"] == 3
    with crm_app.unit_of_work(readonly=True) as uow:
        c = get_campaign(uow, "spring")
        doc = frozen_document(uow, c)
        assert c.status == "closed" and c.seed and proof.commitment(c.seed) == c.seed_commitment
    assert proof.sha256_hex(doc) == out["list_sha256"]
    (event,) = outbox_events(crm_app, "lottery_entries_frozen")
    assert event["payload"]["list_sha256"] == out["list_sha256"]
    assert event["payload"]["seed_commitment"] == out["seed_commitment"]
    assert "seed" not in event["payload"]
    with pytest.raises(Conflict, match="already closed"):
        close(crm_app)


def test_eligibility_rules_exclude_staff_segment_inactive_and_too_few_entries(crm_app):
    new_campaign(crm_app, where=["city=تهران"], min_entries=2, staff_tags=["staff"])
    ok = members(crm_app, 2, city="تهران")
    staff = members(crm_app, 1, city="تهران")
    with crm_app.unit_of_work() as uow:
        update_customer(uow, staff[0], add_tags=["staff"])
    shiraz = members(crm_app, 1, city="شیراز")
    gone = members(crm_app, 1, city="تهران")
    few = make_customer(crm_app, "کم", city="تهران")
    for cid in ok + staff + shiraz + gone:
        record_purchase(crm_app, cid, "1000", at=IN_WINDOW)  # two entries each
    record_purchase(crm_app, few, "1000", at=IN_WINDOW)  # only one
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, gone[0])
    out = close(crm_app)
    assert out["excluded"] == {"inactive": 1, "staff": 1, "segment": 1, "too_few_entries": 1}
    with crm_app.unit_of_work(readonly=True) as uow:
        frozen = [
            (e.participant, e.weight)
            for e in uow.session.scalars(
                select(LotteryFrozenEntry).order_by(LotteryFrozenEntry.position)
            )
        ]
    assert sorted(zip(by_customer(crm_app, [p for p, _w in frozen]), [w for _p, w in frozen])) == [
        (ok[0], 2),
        (ok[1], 2),
    ]


def test_winners_of_the_last_draws_are_excluded(crm_app):
    new_campaign(crm_app, name="first", prizes=[{"name": "Coin", "quantity": 2}])
    ids = members(crm_app, 4)
    close(crm_app, "first")
    won = {w["customer_id"] for w in draw(crm_app, "first")["winners"]}
    new_campaign(
        crm_app,
        name="second",
        exclude_recent_winners=1,
        entry_start=END,
        entry_end=datetime(2025, 5, 1, tzinfo=UTC),
    )
    crm_app.clock.set(datetime(2025, 4, 10, 12, tzinfo=UTC))  # the purchases below have happened
    for cid in ids:
        record_purchase(crm_app, cid, "1000", at=datetime(2025, 4, 10, tzinfo=UTC))
    out = close(crm_app, "second")
    assert out["excluded"] == {"recent_winner": 2} and out["eligible"] == 2
    with crm_app.unit_of_work(readonly=True) as uow:
        frozen = set(
            uow.session.scalars(
                select(LotteryFrozenEntry.participant)
                .join(LotteryCampaign)
                .where(LotteryCampaign.name == "second")
            )
        )
    assert set(by_customer(crm_app, frozen)) == set(ids) - won


class FakeTiers:
    """Stands in for the tiers plugin: the ``tier`` search field on a bronze < silver < gold ladder, read from
    tags ``tier-<name>``, with the comparison operators the lottery's minimum-tier clause uses."""

    LADDER = ["bronze", "silver", "gold"]

    @hookimpl
    def crm_search_fields(self):
        from crmcore.api import Customer, CustomerTag, SearchField, compare

        def condition(op, value):
            if value not in self.LADDER:
                raise ValidationError(f"unknown tier {value!r}", field="tier")
            names = [
                t
                for t in self.LADDER
                if compare(self.LADDER.index(t), op, self.LADDER.index(value)) is True
            ]
            return Customer.id.in_(
                select(CustomerTag.customer_id).where(
                    CustomerTag.tag.in_([f"tier-{t}" for t in names])
                )
            )

        return [SearchField("tier", "fake tier", condition, ops=("=", ">=", ">", "<=", "<", "!="))]


def test_minimum_tier_uses_the_tier_search_field(crm_app_factory):
    app = crm_app_factory(plugins=["lottery"], extra_plugins=[("faketiers", FakeTiers(), None)])
    new_campaign(app, min_tier="silver")
    gold, silver, bronze = (
        members(app, 1, tags=[f"tier-{t}"])[0] for t in ("gold", "silver", "bronze")
    )
    plain = members(app, 1)[0]
    out = close(app)
    assert out["excluded"] == {"tier": 2}
    with app.unit_of_work(readonly=True) as uow:
        listed = list(uow.session.scalars(select(LotteryFrozenEntry.participant)))
    assert set(by_customer(app, listed)) == {gold, silver}
    assert bronze and plain


def test_minimum_tier_without_a_tier_field_is_refused_at_creation(crm_app):
    with pytest.raises(ValidationError, match="needs the tiers plugin"):
        new_campaign(crm_app, min_tier="gold")
    with pytest.raises(ValidationError, match="unknown search field 'colour'"):
        new_campaign(crm_app, where=["colour=red"])
    assert count(crm_app, LotteryCampaign) == 0


def test_drawing_before_close_or_before_the_draw_time_is_refused(crm_app):
    new_campaign(crm_app)
    members(crm_app, 2)
    with pytest.raises(Conflict, match="still open: close it first"):
        with crm_app.unit_of_work() as uow:
            draw_campaign(uow, get_campaign(uow, "spring", lock=True))
    close(crm_app)
    with pytest.raises(ValidationError, match="set for 2025-04-01 03:30"):
        with crm_app.unit_of_work() as uow:
            draw_campaign(uow, get_campaign(uow, "spring", lock=True))
    assert count(crm_app, LotteryWinner) == 0
    draw(crm_app)
    with pytest.raises(Conflict, match="already drawn"):
        draw(crm_app)


def test_the_draw_is_the_documented_function_of_list_and_seed(crm_app):
    new_campaign(crm_app, prizes=[{"name": "Coin", "quantity": 1}, {"name": "Card", "quantity": 3}])
    ids = members(crm_app, 8)
    for i, cid in enumerate(ids):
        for _ in range(i):
            record_purchase(crm_app, cid, "1000", at=IN_WINDOW)
    close(crm_app)
    result = draw(crm_app)
    with crm_app.unit_of_work(readonly=True) as uow:
        c = get_campaign(uow, "spring")
        spec, entries = proof.parse_document(frozen_document(uow, c))
        stored = [(w.slot, w.prize_rank, w.participant, w.ticket) for w in winners(uow, c)]
    again = [
        (w.slot, w.prize_rank, w.participant, w.ticket)
        for w in proof.draw(spec, entries, result["seed"], result["list_sha256"])
    ]
    assert stored == again and len(stored) == 4 and len({s[2] for s in stored}) == 4


def test_same_list_and_same_seed_give_the_same_winners_in_another_database(
    crm_app_factory, tmp_path
):
    from crmcore.api import CRM
    from crmcore.testing import FrozenClock

    seed = "5e" * 32
    results = []
    for app in (crm_app_factory(), None):
        if app is None:
            url = f"sqlite:///{tmp_path / 'other.db'}"
            app = CRM(url, plugins=["lottery"], clock=FrozenClock())
            app.init()
        new_campaign(app, prizes=[{"name": "Coin", "quantity": 3}])
        people = members(app, 12)
        with app.unit_of_work() as uow:  # the same members under the same codes in both databases
            from crmcore_lottery.models import LotteryMember

            for member in uow.session.query(LotteryMember):
                member.code = 10_000_000 + people.index(member.customer_id)
        close(app, seed_commitment=proof.commitment(seed))
        results.append([(w["participant"], w["ticket"]) for w in draw(app, seed=seed)["winners"]])
        if app.url.endswith("other.db"):
            app.dispose()
    assert results[0] == results[1]


def test_an_operator_kept_seed_must_be_given_and_must_match(crm_app):
    new_campaign(crm_app)
    members(crm_app, 3)
    seed = proof.new_seed()
    close(crm_app, seed_commitment=proof.commitment(seed))
    with pytest.raises(ValidationError, match="kept by the operator: give it with --seed"):
        draw(crm_app)
    with pytest.raises(ValidationError, match="does not match the commitment"):
        draw(crm_app, seed=proof.new_seed())
    assert count(crm_app, LotteryWinner) == 0
    assert draw(crm_app, seed=seed)["seed"] == seed
    assert verify(crm_app).ok


def test_more_prizes_than_eligible_members_draws_what_is_possible_and_says_so(crm_app):
    new_campaign(
        crm_app,
        prizes=[{"name": "Coin", "quantity": 2}, {"name": "Card", "quantity": 3, "stock": 2}],
    )
    members(crm_app, 3)
    out = close(crm_app)
    assert out["warnings"] == [
        "prize 2 (Card): 3 to award but 2 in stock; 2 will be drawn",
        "4 prizes to draw but only 3 eligible members: 3 prizes can be awarded",
    ]
    result = draw(crm_app)
    assert result["awarded"] == 3 and result["prizes_to_draw"] == 4
    assert result["unawarded"] == [{"rank": 2, "name": "Card", "not_awarded": 1}]
    assert "3 of 4 prizes awarded" in result["warning"]
    with crm_app.unit_of_work(readonly=True) as uow:
        prizes = [(p.awarded, p.stock) for p in get_campaign(uow, "spring").prizes]
    assert prizes == [(2, 0), (1, 1)]
    assert verify(crm_app).ok


def test_closing_without_prizes_is_refused(crm_app):
    new_campaign(crm_app, prizes=[])
    with pytest.raises(ValidationError, match="has no prizes"):
        close(crm_app)
    assert count(crm_app, LotteryCampaign, LotteryCampaign.status == "open") == 1


def test_verify_passes_then_fails_when_anything_is_changed(crm_app):
    new_campaign(crm_app, prizes=[{"name": "Coin", "quantity": 2}])
    members(crm_app, 6)
    published = close(crm_app)
    assert verify(crm_app).ok  # before the draw: the list against its hash
    draw(crm_app)
    good = verify(
        crm_app, list_sha256=published["list_sha256"], seed_commitment=published["seed_commitment"]
    )
    assert good.ok, good.checks
    assert [c[0] for c in good.checks] == [
        "published list hash",
        "published seed commitment",
        "announcement",
        "rules",
        "frozen list",
        "seed",
        "winners",
    ]

    def tampered(statement, failing):
        with crm_app.engine.begin() as conn:
            conn.execute(statement)
        result = verify(crm_app)
        assert not result.ok
        assert failing in [name for name, ok, _ in result.checks if not ok]

    tampered(
        update(LotteryFrozenEntry).where(LotteryFrozenEntry.position == 2).values(weight=40),
        "frozen list",
    )
    with crm_app.engine.begin() as conn:
        conn.execute(
            update(LotteryFrozenEntry).where(LotteryFrozenEntry.position == 2).values(weight=1)
        )
    assert verify(crm_app).ok  # restored
    tampered(update(LotteryCampaign).values(seed="00" * 32), "seed")
    real_seed = next(e["payload"]["seed"] for e in outbox_events(crm_app, "lottery_winners_drawn"))
    with crm_app.engine.begin() as conn:
        conn.execute(update(LotteryCampaign).values(seed=real_seed))
    assert verify(crm_app).ok
    tampered(
        update(LotteryWinner).where(LotteryWinner.slot == 0).values(participant=999), "winners"
    )


def test_rewriting_the_list_and_its_hash_is_caught_by_the_announcement(crm_app):
    new_campaign(crm_app)
    members(crm_app, 4)
    published = close(crm_app)
    with crm_app.engine.begin() as conn:
        conn.execute(
            update(LotteryFrozenEntry).where(LotteryFrozenEntry.position == 1).values(weight=100)
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        forged = proof.sha256_hex(frozen_document(uow, get_campaign(uow, "spring")))
    with crm_app.engine.begin() as conn:
        conn.execute(update(LotteryCampaign).values(list_sha256=forged))
    result = verify(crm_app)
    assert not result.ok and [n for n, ok, _ in result.checks if not ok] == ["announcement"]
    by_member = verify(
        crm_app, list_sha256=published["list_sha256"]
    )  # a member kept the announced hash
    assert not by_member.ok and "published list hash" in [
        n for n, ok, _ in by_member.checks if not ok
    ]
    with pytest.raises(Conflict, match="no longer matches the hash published"):
        with crm_app.engine.begin() as conn:
            conn.execute(update(LotteryCampaign).values(list_sha256=published["list_sha256"]))
        draw(crm_app)
    assert count(crm_app, LotteryWinner) == 0


def test_changing_the_rules_after_the_fact_fails_verification(crm_app):
    new_campaign(crm_app)
    members(crm_app, 2)
    close(crm_app)
    draw(crm_app)
    with crm_app.engine.begin() as conn:
        conn.execute(update(LotteryCampaign).values(rules_text="Different rules"))
    assert [n for n, ok, _ in verify(crm_app).checks if not ok] == ["rules"]


class Congratulator:
    def __init__(self):
        self.calls = []

    @hookimpl
    def lottery_winners_drawn(self, uow, campaign, winners):
        self.calls.append((campaign.name, [(w.prize_rank, w.customer_id) for w in winners]))


def test_winners_drawn_hook_and_outbox_event(crm_app_factory):
    listener = Congratulator()
    app = crm_app_factory(plugins=["lottery"], extra_plugins=[("congrats", listener, None)])
    new_campaign(app, prizes=[{"name": "Coin", "quantity": 2}])
    members(app, 3)
    close(app)
    result = draw(app)
    assert listener.calls == [
        ("spring", [(w["prize_rank"], w["customer_id"]) for w in result["winners"]])
    ]
    (event,) = outbox_events(app, "lottery_winners_drawn")
    assert event["payload"]["seed"] == result["seed"] and len(event["payload"]["winners"]) == 2


def test_a_failing_winners_hook_rolls_the_draw_back(crm_app_factory):
    class Broken:
        @hookimpl
        def lottery_winners_drawn(self, uow, campaign, winners):
            raise RuntimeError("SMS gateway down")

    app = crm_app_factory(plugins=["lottery"], extra_plugins=[("broken", Broken(), None)])
    new_campaign(app)
    members(app, 2)
    close(app)
    with pytest.raises(Exception, match="SMS gateway down"):
        draw(app)
    assert count(app, LotteryWinner) == 0
    assert count(app, LotteryCampaign, LotteryCampaign.status == "closed") == 1


def test_several_prizes_per_person_spend_one_ticket_per_prize(crm_app):
    new_campaign(crm_app, one_prize_per_person=False, prizes=[{"name": "Card", "quantity": 5}])
    (cid,) = members(crm_app, 1)
    for _ in range(2):
        record_purchase(crm_app, cid, "1000", at=IN_WINDOW)
    close(crm_app)
    result = draw(crm_app)
    assert [w["customer_id"] for w in result["winners"]] == [cid] * 3
    assert "not enough eligible entries" in result["warning"]
