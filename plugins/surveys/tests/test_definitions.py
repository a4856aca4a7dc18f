import pytest
from crmcore_surveys.definitions import (
    TEMPLATES,
    is_detractor,
    parse_delay,
    parse_questions,
    parse_trigger,
    validate_answers,
)

from crmcore.api import ValidationError

CHOICE = {
    "key": "reason",
    "type": "single",
    "text": {"en": "Why?", "fa": "چرا؟"},
    "choices": [{"key": "price", "text": {"en": "Price", "fa": "قیمت"}}, "quality"],
}


@pytest.mark.parametrize(
    "questions, field, reason",
    [
        ([], "questions", "at least one question"),
        (None, "questions", "at least one question"),
        ([{"key": "q", "type": "stars", "text": "x"}], "questions[1].type", "is not one of"),
        ([{"key": "Q 1", "type": "nps", "text": "x"}], "questions[1].key", "lowercase"),
        (
            [{"key": "a", "type": "nps", "text": "x"}, {"key": "a", "type": "text", "text": "y"}],
            "questions[2].key",
            "used twice",
        ),
        (
            [{"key": "a", "type": "nps", "text": "x"}, {"key": "b", "type": "nps", "text": "y"}],
            "questions[2].type",
            "at most one nps",
        ),
        (
            [{"key": "a", "type": "single", "text": "x", "choices": ["one"]}],
            "questions[1].choices",
            "at least two",
        ),
        (
            [{"key": "a", "type": "nps", "text": {"de": "x"}}],
            "questions[1].text",
            "unknown language",
        ),
        ([{"key": "a", "type": "nps", "text": {"fa": "  "}}], "questions[1].text", "empty"),
        (
            [{"key": "a", "type": "text", "text": "x", "choices": ["a", "b"]}],
            "questions[1].choices",
            "has no choices",
        ),
    ],
)
def test_bad_question_sets_are_refused_naming_the_question(questions, field, reason):
    with pytest.raises(ValidationError) as err:
        parse_questions(questions)
    assert err.value.field == field
    assert reason in str(err.value)


def test_questions_are_normalised_with_persian_and_english_wording():
    qs = parse_questions(
        [{"key": "NPS", "type": "NPS", "text": "چقدر  ما را پیشنهاد می‌کنید؟"}, CHOICE]
    )
    assert qs[0] == {
        "key": "nps",
        "type": "nps",
        "text": {"fa": "چقدر ما را پیشنهاد می‌کنید؟"},
        "required": True,
    }
    assert qs[1]["required"] is False
    assert qs[1]["choices"][1] == {"key": "quality", "text": {"en": "quality"}}
    for template in TEMPLATES.values():
        assert all(set(q["text"]) == {"en", "fa"} for q in parse_questions(template))


@pytest.mark.parametrize("qtype, low, high", [("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)])
def test_rating_ranges_are_inclusive_and_everything_outside_is_refused(qtype, low, high):
    qs = parse_questions([{"key": "r", "type": qtype, "text": "x"}])
    assert validate_answers(qs, {"r": low}) == {"r": low}
    assert validate_answers(qs, {"r": str(high)}) == {"r": high}
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError, match="out of range") as err:
            validate_answers(qs, {"r": bad})
        assert err.value.field == "answers.r"


def test_answers_accept_persian_digits_choice_labels_and_lists():
    qs = parse_questions(
        [
            {"key": "nps", "type": "nps", "text": "x"},
            CHOICE,
            {"key": "tags", "type": "multiple", "text": "x", "choices": ["fast", "cheap", "kind"]},
            {"key": "why", "type": "text", "text": "x"},
        ]
    )
    got = validate_answers(
        qs, {"nps": "۹", "reason": "قیمت", "tags": "fast,kind|fast", "why": "  خوب بود "}
    )
    assert got == {"nps": 9, "reason": "price", "tags": ["fast", "kind"], "why": "خوب بود"}


@pytest.mark.parametrize(
    "answers, field, reason",
    [
        ({}, "answers.nps", "must be answered"),
        ({"nps": "9.5"}, "answers.nps", "not a whole number"),
        ({"nps": True}, "answers.nps", "not a whole number"),
        ({"nps": 9, "reason": "cheap"}, "answers.reason", "not a choice"),
        ({"nps": 9, "color": "red"}, "answers.color", "no question 'color'"),
        ({"nps": 9, "why": "x" * 2001}, "answers.why", "longer than 2000"),
    ],
)
def test_bad_answers_name_the_question(answers, field, reason):
    qs = parse_questions(
        [
            {"key": "nps", "type": "nps", "text": "x"},
            CHOICE,
            {"key": "why", "type": "text", "text": "x"},
        ]
    )
    with pytest.raises(ValidationError) as err:
        validate_answers(qs, answers)
    assert err.value.field == field
    assert reason in str(err.value)


def test_triggers_parse_from_text_and_mappings():
    assert parse_trigger("purchase sku=tea-01,SAF-05 category=زعفران") == {
        "on": "purchase",
        "skus": ["SAF-05", "TEA-01"],
        "categories": ["زعفران"],
    }
    assert parse_trigger("purchase") == {"on": "purchase", "skus": [], "categories": []}
    assert parse_trigger("spend at_least=۵٬۰۰۰٬۰۰۰ days=30") == {
        "on": "spend",
        "at_least_minor": 5_000_000,
        "currency": "IRR",
        "at_least": "5000000",
        "days": 30,
    }
    assert parse_trigger({"on": "first_purchase", "days": 7}) == {"on": "first_purchase", "days": 7}
    assert parse_trigger("ticket_closed") == {"on": "ticket_closed"}
    assert parse_trigger("deal_won") == {"on": "deal_won"}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("tickt_closed", "unknown trigger event 'tickt_closed'"),
        ("purchase sku", "is not name=value"),
        ("purchase amount=5", "does not take 'amount'"),
        ("spend at_least=100", "needs at_least=AMOUNT and days=N"),
        ("spend at_least=0 days=3", "more than zero"),
        ("first_purchase", "needs days=N"),
        ("first_purchase days=0", "not between 1 and 3650"),
        ("ticket_closed days=3", "does not take 'days'"),
    ],
)
def test_bad_triggers_are_refused(text, reason):
    with pytest.raises(ValidationError, match=reason):
        parse_trigger(text)


def test_delays_and_detractor_thresholds():
    assert [parse_delay(x) for x in (None, "0", "45m", "3h", "۲d", 15)] == [0, 0, 45, 180, 2880, 15]
    for bad in ("soon", "-1h", "91d"):
        with pytest.raises(ValidationError):
            parse_delay(bad)
    assert [is_detractor(s, None) for s in (0, 6, 7, 10)] == [True, True, False, False]
    assert [is_detractor(None, s) for s in (1, 2, 3, 5)] == [True, True, False, False]
    assert is_detractor(None, None) is False
