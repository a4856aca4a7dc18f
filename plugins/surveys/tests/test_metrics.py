from decimal import Decimal
from fractions import Fraction

from crmcore_surveys.metrics import ces_breakdown, csat_breakdown, nps_breakdown, percent
from hypothesis import given
from hypothesis import strategies as st


def test_nps_on_known_answers():
    b = nps_breakdown([10, 9, 9, 8, 7, 6, 0, 3, 10, 10])
    assert (b["promoters"], b["passives"], b["detractors"], b["responses"]) == (5, 2, 3, 10)
    assert b["promoters_pct"] == Decimal("50.0")
    assert b["detractors_pct"] == Decimal("30.0")
    assert b["nps"] == Decimal("20.0")


def test_nps_rounds_once_from_the_exact_fraction():
    # 2 promoters, 1 passive, 0 detractors: 66.666… → 66.7 ; 1 of 3 detractors only: −33.3
    assert nps_breakdown([9, 10, 7])["nps"] == Decimal("66.7")
    assert nps_breakdown([0, 7, 8])["nps"] == Decimal("-33.3")
    assert nps_breakdown([10] * 3)["nps"] == Decimal("100.0")
    assert nps_breakdown([6] * 4)["nps"] == Decimal("-100.0")
    assert nps_breakdown([])["nps"] is None
    # boundaries: 6 detractor, 7 and 8 passives, 9 promoter
    b = nps_breakdown([6, 7, 8, 9])
    assert (b["detractors"], b["passives"], b["promoters"], b["nps"]) == (1, 2, 1, Decimal("0.0"))


def test_csat_and_ces_on_known_answers():
    c = csat_breakdown([5, 4, 4, 3, 1, 2, 5, 5])
    assert (c["responses"], c["satisfied"], c["csat"], c["average"]) == (
        8,
        5,
        Decimal("62.5"),
        Decimal("3.63"),
    )
    assert c["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 2, "5": 3}
    e = ces_breakdown([7, 6, 2])
    assert (e["average"], e["easy"]) == (Decimal("5.00"), 2)
    assert csat_breakdown([])["csat"] is None


def test_percent_rounds_half_up():
    assert percent(1, 8) == Decimal("12.5")
    assert percent(1, 16) == Decimal("6.3")  # 6.25 → 6.3
    assert percent(-1, 16) == Decimal("-6.3")


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=300))
def test_nps_is_the_exact_difference_of_shares_within_rounding(scores):
    b = nps_breakdown(scores)
    exact = Fraction(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)), len(scores))
    assert -100 <= b["nps"] <= 100
    assert abs(Fraction(b["nps"]) - exact) <= Fraction(1, 20)
    assert b["promoters"] + b["passives"] + b["detractors"] == len(scores)
