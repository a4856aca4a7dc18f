"""Survey definitions: questions, triggers, delays, and the validation of answers against a question set.

Pure functions on plain data (no database): every refusal is a :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from crmcore.api import ValidationError, check_text, normalize, parse_money, to_ascii_digits

#: rating question types and their inclusive ranges
RATINGS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
QUESTION_TYPES = (*RATINGS, "single", "multiple", "text")
MAX_TEXT = 2000
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: trigger event → the plugin that announces it (None: the kernel's purchases, always available)
TRIGGER_EVENTS: dict[str, str | None] = {
    "purchase": None,
    "spend": None,
    "first_purchase": None,
    "ticket_closed": "tickets",
    "deal_won": "pipeline",
}
_TRIGGER_KEYS = {
    "purchase": {"sku", "skus", "category", "categories"},
    "spend": {"at_least", "currency", "days"},
    "first_purchase": {"days"},
    "ticket_closed": set(),
    "deal_won": set(),
}

TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "nps": [
        {
            "key": "nps",
            "type": "nps",
            "required": True,
            "text": {
                "en": "How likely are you to recommend us to a friend or colleague?",
                "fa": "چقدر احتمال دارد ما را به دوستان یا همکاران خود پیشنهاد کنید؟",
            },
        },
        {
            "key": "why",
            "type": "text",
            "required": False,
            "text": {
                "en": "What is the main reason for your score?",
                "fa": "دلیل اصلی امتیاز شما چیست؟",
            },
        },
    ],
    "csat": [
        {
            "key": "csat",
            "type": "csat",
            "required": True,
            "text": {
                "en": "How satisfied are you with our service?",
                "fa": "چقدر از خدمات ما راضی هستید؟",
            },
        },
        {
            "key": "comment",
            "type": "text",
            "required": False,
            "text": {"en": "Anything we could do better?", "fa": "چه چیزی را می‌توانیم بهتر کنیم؟"},
        },
    ],
    "ces": [
        {
            "key": "ces",
            "type": "ces",
            "required": True,
            "text": {
                "en": "How easy was it to get what you needed?",
                "fa": "دریافت آنچه نیاز داشتید چقدر آسان بود؟",
            },
        },
        {
            "key": "comment",
            "type": "text",
            "required": False,
            "text": {"en": "What made it hard or easy?", "fa": "چه چیزی آن را سخت یا آسان کرد؟"},
        },
    ],
}


# --- questions -----------------------------------------------------------------------------------------
def _wording(raw: Any, field: str) -> dict[str, str]:
    if isinstance(raw, str):
        raw = {"fa" if re.search(r"[\u0600-\u06FF]", raw) else "en": raw}
    if not isinstance(raw, dict):
        raise ValidationError("wording must be text or {en: …, fa: …}", field=field)
    unknown = set(raw) - {"en", "fa"}
    if unknown:
        raise ValidationError(f"unknown language {sorted(unknown)[0]!r} (en or fa)", field=field)
    out = {
        lang: " ".join(check_text(str(v), field).split())
        for lang, v in raw.items()
        if v is not None and str(v).strip()
    }
    if not out:
        raise ValidationError(
            "wording is empty; give it in Persian (fa), English (en) or both", field=field
        )
    return out


def parse_questions(raw: Any) -> list[dict[str, Any]]:
    """Validate and normalise a question list; a survey needs at least one question."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError("a survey needs at least one question", field="questions")
    questions: list[dict[str, Any]] = []
    seen_keys: set[str] = set()
    seen_ratings: set[str] = set()
    for n, q in enumerate(raw, start=1):
        where = f"questions[{n}]"
        if not isinstance(q, dict):
            raise ValidationError("each question is a mapping with key, type and text", field=where)
        unknown = set(q) - {"key", "type", "text", "choices", "required"}
        if unknown:
            raise ValidationError(f"unknown property {sorted(unknown)[0]!r}", field=where)
        key = str(q.get("key") or "").strip().lower()
        if not _KEY.match(key):
            raise ValidationError(
                f"key {key!r} must be lowercase letters, digits or _ (starting with a letter)",
                field=f"{where}.key",
            )
        if key in seen_keys:
            raise ValidationError(f"the key {key!r} is used twice", field=f"{where}.key")
        qtype = str(q.get("type") or "").strip().lower()
        if qtype not in QUESTION_TYPES:
            raise ValidationError(
                f"type {qtype!r} is not one of {', '.join(QUESTION_TYPES)}", field=f"{where}.type"
            )
        if qtype in RATINGS:
            if qtype in seen_ratings:
                raise ValidationError(
                    f"a survey has at most one {qtype} question", field=f"{where}.type"
                )
            seen_ratings.add(qtype)
        out: dict[str, Any] = {
            "key": key,
            "type": qtype,
            "text": _wording(q.get("text"), f"{where}.text"),
            "required": bool(q.get("required", qtype in RATINGS)),
        }
        choices = q.get("choices")
        if qtype in ("single", "multiple"):
            if not isinstance(choices, list) or len(choices) < 2:
                raise ValidationError(
                    "a choice question needs at least two choices", field=f"{where}.choices"
                )
            parsed = []
            for m, c in enumerate(choices, start=1):
                cwhere = f"{where}.choices[{m}]"
                if isinstance(c, str):
                    c = {"key": c, "text": c}
                if not isinstance(c, dict):
                    raise ValidationError("a choice is text or {key, text}", field=cwhere)
                ckey = str(c.get("key") or "").strip().lower()
                if not _KEY.match(ckey):
                    raise ValidationError(
                        f"choice key {ckey!r} must be lowercase letters, digits or _",
                        field=f"{cwhere}.key",
                    )
                if ckey in {p["key"] for p in parsed}:
                    raise ValidationError(
                        f"the choice {ckey!r} is listed twice", field=f"{cwhere}.key"
                    )
                parsed.append(
                    {"key": ckey, "text": _wording(c.get("text") or ckey, f"{cwhere}.text")}
                )
            out["choices"] = parsed
        elif choices is not None:
            raise ValidationError(f"a {qtype} question has no choices", field=f"{where}.choices")
        seen_keys.add(key)
        questions.append(out)
    return questions


def first_rating(questions: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((q for q in questions if q["type"] in RATINGS), None)


# --- answers -------------------------------------------------------------------------------------------
def _int_answer(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{value!r} is not a whole number", field=field)
    if isinstance(value, int):
        return value
    text = to_ascii_digits(str(value)).strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValidationError(f"{value!r} is not a whole number", field=field)
    return int(text)


def _choice(question: dict[str, Any], value: Any, field: str) -> str:
    wanted = normalize(str(value))
    for c in question["choices"]:
        if wanted == c["key"] or wanted in {normalize(t) for t in c["text"].values()}:
            return c["key"]
    known = ", ".join(c["key"] for c in question["choices"])
    raise ValidationError(f"{value!r} is not a choice of this question ({known})", field=field)


def validate_answers(
    questions: list[dict[str, Any]], raw: dict[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Check answers against a question set; returns them normalised (ints, choice keys, trimmed text).

    Out-of-range ratings, unknown questions or choices and missing required answers are refused, naming the
    question (``answers.nps``). ``partial`` (an SMS reply, which can only carry a score and a
    comment): only the first rating question is required.
    """
    first = first_rating(questions) if partial else None
    by_key = {q["key"]: q for q in questions}
    unknown = [k for k in raw if k not in by_key]
    if unknown:
        raise ValidationError(
            f"no question {unknown[0]!r} in this survey (questions: {', '.join(by_key)})",
            field=f"answers.{unknown[0]}",
        )
    answers: dict[str, Any] = {}
    for q in questions:
        key, field = q["key"], f"answers.{q['key']}"
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            if q["required"] and (not partial or q is first):
                raise ValidationError("this question must be answered", field=field)
            continue
        if q["type"] in RATINGS:
            lo, hi = RATINGS[q["type"]]
            score = _int_answer(value, field)
            if not lo <= score <= hi:
                raise ValidationError(
                    f"{score} is out of range: a {q['type'].upper()} answer is {lo}–{hi}",
                    field=field,
                )
            answers[key] = score
        elif q["type"] == "single":
            answers[key] = _choice(q, value, field)
        elif q["type"] == "multiple":
            items = value if isinstance(value, list) else re.split(r"[,|،]", str(value))
            picked = [_choice(q, v, field) for v in items if str(v).strip()]
            answers[key] = list(dict.fromkeys(picked))
        else:
            text = check_text(str(value).strip(), field)
            if len(text) > MAX_TEXT:
                raise ValidationError(
                    f"the answer is longer than {MAX_TEXT} characters", field=field
                )
            answers[key] = text
    return answers


def is_detractor(nps_score: int | None, csat_score: int | None) -> bool:
    """A low score asks for a follow-up: NPS 0–6 or CSAT 1–2."""
    return (nps_score is not None and nps_score <= 6) or (
        csat_score is not None and csat_score <= 2
    )


# --- triggers ------------------------------------------------------------------------------------------
def _split_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[,،]", str(value))
    return [str(v).strip() for v in items if str(v).strip()]


def _positive_days(value: Any, field: str) -> int:
    days = _int_answer(value, field)
    if not 1 <= days <= 3650:
        raise ValidationError(f"{days} days is not between 1 and 3650", field=field)
    return days


def parse_trigger(raw: str | dict[str, Any]) -> dict[str, Any]:
    """Read a trigger: ``"purchase sku=TEA-01,SAF-05"``, ``"purchase category=چای"``,
    ``"spend at_least=5000000 days=30"``, ``"first_purchase days=7"``, ``"ticket_closed"``, ``"deal_won"``
    (or the same as a mapping with ``on``)."""
    if isinstance(raw, str):
        parts = raw.split()
        if not parts:
            raise ValidationError("an empty trigger", field="trigger")
        data: dict[str, Any] = {"on": parts[0]}
        for part in parts[1:]:
            if "=" not in part:
                raise ValidationError(
                    f"{part!r} in trigger {raw!r} is not name=value", field="trigger"
                )
            k, v = part.split("=", 1)
            data[k.strip().lower()] = v
    elif isinstance(raw, dict):
        data = dict(raw)
    else:
        raise ValidationError("a trigger is text or a mapping", field="trigger")
    event = str(data.pop("on", "")).strip().lower()
    if event not in TRIGGER_EVENTS:
        raise ValidationError(
            f"unknown trigger event {event!r} (known: {', '.join(TRIGGER_EVENTS)})", field="trigger"
        )
    unknown = set(data) - _TRIGGER_KEYS[event]
    if unknown:
        allowed = ", ".join(sorted(_TRIGGER_KEYS[event])) or "none"
        raise ValidationError(
            f"{event} trigger does not take {sorted(unknown)[0]!r} (it takes: {allowed})",
            field="trigger",
        )
    out: dict[str, Any] = {"on": event}
    if event == "purchase":
        skus = _split_list(data.get("sku", [])) + _split_list(data.get("skus", []))
        cats = _split_list(data.get("category", [])) + _split_list(data.get("categories", []))
        out["skus"] = sorted({s.upper() for s in skus})
        out["categories"] = sorted({normalize(c) for c in cats})
    elif event == "spend":
        if "at_least" not in data or "days" not in data:
            raise ValidationError(
                "a spend trigger needs at_least=AMOUNT and days=N", field="trigger"
            )
        money = parse_money(
            str(data["at_least"]), str(data.get("currency") or "IRR"), field="trigger"
        )
        if money.minor <= 0:
            raise ValidationError("at_least must be more than zero", field="trigger")
        out.update(
            at_least_minor=money.minor,
            currency=money.currency,
            at_least=str(money.amount),
            days=_positive_days(data["days"], "trigger"),
        )
    elif event == "first_purchase":
        if "days" not in data:
            raise ValidationError("a first_purchase trigger needs days=N", field="trigger")
        out["days"] = _positive_days(data["days"], "trigger")
    return out


def describe_trigger(t: dict[str, Any]) -> str:
    event = t["on"]
    if event == "purchase":
        parts = []
        if t.get("skus"):
            parts.append("sku=" + ",".join(t["skus"]))
        if t.get("categories"):
            parts.append("category=" + ",".join(t["categories"]))
        return " ".join(["purchase", *parts])
    if event == "spend":
        return f"spend at_least={t['at_least']} currency={t['currency']} days={t['days']}"
    if event == "first_purchase":
        return f"first_purchase days={t['days']}"
    return event


def parse_delay(raw: str | int | None) -> int:
    """A delay in minutes from ``"0"``, ``"45m"``, ``"3h"``, ``"2d"`` (Persian digits accepted)."""
    if raw in (None, ""):
        return 0
    if isinstance(raw, int):
        minutes = raw
    else:
        text = to_ascii_digits(str(raw)).strip().lower()
        m = re.fullmatch(r"(\d+)\s*([mhd]?)", text)
        if not m:
            raise ValidationError(f"{raw!r} is not a delay (e.g. 0, 45m, 3h, 2d)", field="delay")
        minutes = int(m.group(1)) * {"": 1, "m": 1, "h": 60, "d": 1440}[m.group(2)]
    if not 0 <= minutes <= 90 * 1440:
        raise ValidationError("a delay is between 0 and 90 days", field="delay")
    return minutes


def format_delay(minutes: int) -> str:
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m" if minutes else "0"
