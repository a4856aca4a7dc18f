"""Entries from purchases (live, imported, refunded, collected afterwards) and from lottery cards."""

from datetime import datetime, timedelta, timezone

import pytest
from crmcore_lottery.campaigns import get_campaign
from crmcore_lottery.cards import check_symbol, generate_batch, normalize_code
from crmcore_lottery.entries import collect_purchases, redeem_card
from crmcore_lottery.models import LotteryCard, LotteryEntry
from lottery_test_helpers import IN_WINDOW, close, count, new_campaign, weights
from sqlalchemy import select

from crmcore.api import Conflict, ValidationError
from crmcore.testing import make_customer, record_purchase

UTC = timezone.utc


def test_a_purchase_in_the_window_earns_per_purchase_and_per_amount_entries(crm_app):
    new_campaign(crm_app, per_purchase=1, per_amount="1,000,000")
    cid = make_customer(crm_app)
    record_purchase(crm_app, cid, "3500000", at=IN_WINDOW)  # 1 + 3
    record_purchase(crm_app, cid, "999999", at=IN_WINDOW)  # 1 + 0
    record_purchase(
        crm_app, cid, "5000000", at=datetime(2025, 2, 28, 20, 29, tzinfo=UTC)
    )  # before the window
    record_purchase(
        crm_app, cid, "20", currency="USD", at=IN_WINDOW
    )  # other currency: per purchase only
    assert weights(crm_app) == {cid: 4 + 1 + 1}


def test_the_window_is_half_open_in_utc(crm_app):
    from lottery_test_helpers import END, START

    new_campaign(crm_app)
    cid = make_customer(crm_app)
    crm_app.clock.set(END + timedelta(hours=1))  # both purchases have happened: none is dated ahead
    record_purchase(crm_app, cid, "1000", at=START)
    record_purchase(crm_app, cid, "1000", at=END)
    assert weights(crm_app) == {cid: 1}


def test_refunds_lower_the_entries_of_their_purchase(crm_app):
    new_campaign(crm_app, per_purchase=1, per_amount="1000000")
    cid = make_customer(crm_app)
    pid = record_purchase(crm_app, cid, "4000000", at=IN_WINDOW)
    assert weights(crm_app) == {cid: 5}
    record_purchase(crm_app, cid, "2500000", kind="refund", related_id=pid, at=IN_WINDOW)
    assert weights(crm_app) == {cid: 2}  # net 1,500,000: 1 + 1
    record_purchase(crm_app, cid, "1500000", kind="refund", related_id=pid, at=IN_WINDOW)
    assert weights(crm_app) == {}  # refunded in full: nothing


def test_collecting_purchases_recorded_before_the_campaign_is_idempotent(crm_app):
    a, b = make_customer(crm_app, "علی"), make_customer(crm_app, "زهرا")
    record_purchase(crm_app, a, "2000000", at=IN_WINDOW)
    pid = record_purchase(crm_app, b, "3000000", at=IN_WINDOW)
    record_purchase(crm_app, b, "3000000", kind="refund", related_id=pid, at=IN_WINDOW)
    record_purchase(crm_app, b, "1000000", at=datetime(2024, 3, 10, tzinfo=UTC))
    new_campaign(crm_app, per_purchase=1, per_amount="1000000")
    assert weights(crm_app) == {}
    with crm_app.unit_of_work() as uow:
        first = collect_purchases(uow, get_campaign(uow, "spring"))
    assert first == {
        "purchases": 2,
        "new_entries": 1,
        "entries": 3,
        "already_entered": 0,
        "earned_nothing": 1,
    }
    with crm_app.unit_of_work() as uow:
        again = collect_purchases(uow, get_campaign(uow, "spring"))
    assert again["new_entries"] == 0 and again["already_entered"] == 1
    assert weights(crm_app) == {a: 3}


def test_cards_are_unique_well_formed_and_only_their_hash_is_stored(crm_app):
    new_campaign(crm_app)
    with crm_app.unit_of_work() as uow:
        batch, codes = generate_batch(
            uow, get_campaign(uow, "spring"), 500, weight=2, label="saffron"
        )
    assert len(set(codes)) == 500
    for code in codes[:50]:
        assert len(code) == 19 and code.count("-") == 3
        plain = code.replace("-", "")
        assert check_symbol(plain[:-1]) == plain[-1]
    with crm_app.unit_of_work(readonly=True) as uow:
        stored = list(uow.session.scalars(select(LotteryCard.code_sha256)))
    assert len(stored) == 500 and not set(c.replace("-", "") for c in codes) & set(stored)


def _cards(app, n=3, campaign="spring", weight=2):
    with app.unit_of_work() as uow:
        return generate_batch(uow, get_campaign(uow, campaign), n, weight=weight)[1]


def _redeem(app, customer_id, code, campaign="spring"):
    from crmcore.api import get_customer

    with app.unit_of_work() as uow:
        return redeem_card(
            uow,
            get_campaign(uow, campaign, lock=True),
            get_customer(uow.session, customer_id),
            code,
        ).weight


def test_a_card_is_redeemed_once_whatever_way_it_is_typed(crm_app):
    new_campaign(crm_app)
    code = _cards(crm_app)[0]
    cid, other = make_customer(crm_app), make_customer(crm_app, "سارا")
    typed = code.lower().replace("-", " ").replace("0", "o")
    typed = typed.translate(str.maketrans("123456789", "۱۲۳۴۵۶۷۸۹"))
    assert _redeem(crm_app, cid, typed) == 2
    with pytest.raises(Conflict, match=r"already redeemed on 2025-03-21 .*customer"):
        _redeem(crm_app, other, code)
    assert weights(crm_app) == {cid: 2}


@pytest.mark.parametrize(
    "mangle, error",
    [
        (lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"), "mistyped"),
        (lambda c: c[:10], "has 8 symbols"),
        (lambda c: c.replace(c[0], "#", 1), "not in card codes"),
    ],
)
def test_mistyped_codes_are_told_apart_from_unknown_ones(crm_app, mangle, error):
    new_campaign(crm_app)
    code = _cards(crm_app)[0]
    cid = make_customer(crm_app)
    with pytest.raises(ValidationError, match=error):
        _redeem(crm_app, cid, mangle(code))
    assert count(crm_app, LotteryEntry) == 0


def test_unknown_codes_and_other_campaigns_cards_are_refused(crm_app):
    from crmcore_lottery.cards import display, new_code

    new_campaign(crm_app)
    new_campaign(crm_app, name="autumn")
    autumn_code = _cards(crm_app, campaign="autumn")[0]
    cid = make_customer(crm_app)
    with pytest.raises(ValidationError, match="is not a valid lottery card"):
        _redeem(crm_app, cid, display(new_code()))
    with pytest.raises(ValidationError, match="belongs to campaign 'autumn'"):
        _redeem(crm_app, cid, autumn_code)
    assert count(crm_app, LotteryEntry) == 0
    assert count(crm_app, LotteryCard, LotteryCard.redeemed_at.is_not(None)) == 0


def test_code_normalisation_folds_case_dashes_and_confusable_letters():
    body = "ABCDEFGHJKMNPQR"
    assert normalize_code("abcd-efgh-jkmn-pqr" + check_symbol(body).lower()) == body + check_symbol(
        body
    )
    ones = "111111111111100"
    # I and L read as 1, O as 0, before the check symbol is compared
    assert normalize_code("IIII LLLL 1111 1OO" + check_symbol(ones)) == ones + check_symbol(ones)


def test_nothing_can_be_entered_after_close(crm_app):
    new_campaign(crm_app)
    codes = _cards(crm_app)
    cid = make_customer(crm_app)
    record_purchase(crm_app, cid, "1000", at=IN_WINDOW)
    close(crm_app)
    record_purchase(
        crm_app, cid, "1000", at=IN_WINDOW
    )  # recorded late: the frozen list does not change
    with pytest.raises(Conflict, match="closed on 2025-03-21 .*frozen"):
        _redeem(crm_app, cid, codes[0])
    with pytest.raises(Conflict, match="closed on"):
        with crm_app.unit_of_work() as uow:
            collect_purchases(uow, get_campaign(uow, "spring"))
    assert weights(crm_app) == {cid: 1}
    assert count(crm_app, LotteryCard, LotteryCard.redeemed_at.is_not(None)) == 0


def test_cards_cannot_be_redeemed_outside_the_window(crm_app):
    new_campaign(
        crm_app,
        entry_start=datetime(2025, 4, 1, tzinfo=UTC),
        entry_end=datetime(2025, 5, 1, tzinfo=UTC),
    )
    code = _cards(crm_app)[0]
    cid = make_customer(crm_app)
    with pytest.raises(ValidationError, match="open on 2025-04-01"):
        _redeem(crm_app, cid, code)
    crm_app.clock.set(datetime(2025, 5, 2, tzinfo=UTC))
    with pytest.raises(Conflict, match="ended on 2025-05-01"):
        _redeem(crm_app, cid, code)
    assert count(crm_app, LotteryEntry) == 0


def test_purchases_and_refunds_in_one_unit_of_work_are_entered_together(crm_app):
    from crmcore_lottery.entries import participant_totals

    from crmcore.api import get_customer, record_interaction

    new_campaign(crm_app, per_purchase=1, per_amount="1000000")
    cid = make_customer(crm_app)
    with crm_app.unit_of_work() as uow:  # as an import of a history does
        customer = get_customer(uow.session, cid)
        kept = record_interaction(
            uow, customer, kind="purchase", amount="2000000", occurred_at=IN_WINDOW
        )
        returned = record_interaction(
            uow, customer, kind="purchase", amount="3000000", occurred_at=IN_WINDOW
        )
        record_interaction(
            uow,
            customer,
            kind="refund",
            amount="3000000",
            related_id=returned.id,
            occurred_at=IN_WINDOW,
        )
        assert [r["entries"] for r in participant_totals(uow, get_campaign(uow, "spring"))] == [3]
        record_interaction(uow, customer, kind="purchase", amount="1000000", occurred_at=IN_WINDOW)
        assert kept.id
    assert weights(crm_app) == {cid: 3 + 2}
