import pytest

from crmcore.api import ValidationError, find_customers
from crmcore.testing import make_customer, record_purchase


@pytest.fixture
def people(crm_app):
    ids = {
        "alireza": make_customer(
            crm_app,
            "علی‌رضا کریمی",
            phones=["09121234567"],
            emails=["alireza@x.ir"],
            tags=["vip"],
            city="تهران",
        ),
        "ali": make_customer(crm_app, "علی کریمی", phones=["09351234567"], city="شیراز"),
        "arabic": make_customer(crm_app, "فاطمة رضائي", phones=["02188887777"], city="تهران"),
        "english": make_customer(
            crm_app, "Sara Ahmadi", emails=["sara@example.com"], external_id="EXT-9"
        ),
        "karimian": make_customer(crm_app, "مهدی کریمیان"),
    }
    record_purchase(crm_app, ids["ali"], 1000)
    record_purchase(crm_app, ids["ali"], 2000)
    return ids


def ids_for(app, query, **kw):
    with app.unit_of_work(readonly=True) as uow:
        return [m.customer.id for m in find_customers(uow, query, **kw)]


def test_persian_variants_find_the_same_people(crm_app, people):
    assert ids_for(crm_app, "علیرضا")[0] == people["alireza"]
    assert ids_for(crm_app, "علي رضا كريمي")[0] == people["alireza"]
    assert ids_for(crm_app, "فاطمه رضایی") == [people["arabic"]]


def test_ranking_puts_the_exact_name_first_then_prefixes(crm_app, people):
    result = ids_for(crm_app, "علی کریمی")
    assert result[0] == people["ali"]  # exact name
    assert set(result) == {people["ali"], people["alireza"]}
    assert ids_for(crm_app, "کریمی")[:2] == [
        people["ali"],
        people["alireza"],
    ]  # whole word before prefix
    assert people["karimian"] in ids_for(crm_app, "کریمی")  # word prefix still matches


def test_phones_in_any_format_and_partial_numbers(crm_app, people):
    for q in ["09121234567", "+98 912 123 4567", "۰۹۱۲۱۲۳۴۵۶۷", "00989121234567"]:
        assert ids_for(crm_app, q) == [people["alireza"]]
    assert ids_for(crm_app, "021 8888 7777") == [people["arabic"]]
    assert set(ids_for(crm_app, "1234567")) == {people["alireza"], people["ali"]}


def test_email_and_external_id(crm_app, people):
    assert ids_for(crm_app, "SARA@example.com") == [people["english"]]
    assert ids_for(crm_app, "sara@") == [people["english"]]
    assert ids_for(crm_app, "EXT-9") == [people["english"]]
    assert ids_for(crm_app, "sara ahm") == [people["english"]]


def test_where_clauses(crm_app, people):
    assert ids_for(crm_app, "کریمی", where=["tag=vip"]) == [people["alireza"]]
    assert set(ids_for(crm_app, "", where=["city=تهران"])) == {people["alireza"], people["arabic"]}
    assert ids_for(crm_app, "", where=["purchases>=2"]) == [people["ali"]]
    with pytest.raises(ValidationError, match="unknown search field 'tier'"):
        ids_for(crm_app, "", where=["tier=gold"])
    with pytest.raises(ValidationError, match="not a condition"):
        ids_for(crm_app, "", where=["nonsense"])


def test_limit(crm_app, people):
    assert len(ids_for(crm_app, "کریمی", limit=1)) == 1


@pytest.mark.parametrize(
    "query",
    [
        "علیرضا",
        "علي رضا كريمي",
        "کریمی",
        "کری",
        "09121234567",
        "1234567",
        "sara@",
        "SARA@example.com",
        "EXT-9",
        "sara ahm",
        "",
        "nobody",
        "فاطمه رضایی",
    ],
)
def test_the_cli_fast_path_answers_exactly_like_the_full_search(crm_app, people, query):
    from crmcore.services.quickfind import quick_find
    from crmcore.services.search import match_to_dict

    with crm_app.unit_of_work(readonly=True) as uow:
        full = [match_to_dict(m) for m in find_customers(uow, query, limit=3)]
    assert quick_find(crm_app.url, query, limit=3) == full


@pytest.fixture
def common_names(crm_app):
    """Ten customers whose names merely start with the searched words, then the one whose name holds them whole
    (created last: the highest id)."""
    prefixed = [make_customer(crm_app, f"علی کریمیان {n}") for n in range(10)]
    whole = make_customer(crm_app, "علی کریمی")
    return prefixed, whole


def test_more_matches_than_candidates_still_rank_whole_words_first(
    crm_app, common_names, monkeypatch
):
    from crmcore.services import quickfind, search_plan

    prefixed, whole = common_names
    monkeypatch.setattr(search_plan, "CANDIDATES", 3)  # as if thousands of customers matched
    assert ids_for(crm_app, "کریمی علی")[0] == whole  # words reversed: only the word scan finds it
    assert ids_for(crm_app, "علی کریمی")[0] == whole
    assert (
        ids_for(crm_app, "کریمی علی", limit=20) == [whole] + prefixed[:2]
    )  # the cap bounds the scan
    assert [r["id"] for r in quickfind.quick_find(crm_app.url, "کریمی علی")] == [whole] + prefixed[
        :2
    ]


@pytest.mark.parametrize(
    "query", ["کریمی علی", "علی کریمی", "علی کر", "عل کریمیان ۳", "علی علی", "کریمیان"]
)
def test_both_paths_agree_on_multi_word_queries(crm_app, common_names, query):
    from crmcore.services.quickfind import quick_find
    from crmcore.services.search import match_to_dict

    with crm_app.unit_of_work(readonly=True) as uow:
        full = [match_to_dict(m) for m in find_customers(uow, query, limit=5)]
    assert full and quick_find(crm_app.url, query, limit=5) == full
