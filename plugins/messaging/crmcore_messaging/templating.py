"""Templates rendered in a Jinja2 sandbox: per-customer fields, Persian digits, toman and Jalali filters.

A template sees only plain values (strings, numbers, dates, lists of strings): no ORM objects, no Python
functions, no ``range``. The immutable sandbox refuses attributes that lead to Python internals
(``__class__``, ``__globals__``, ``mro``…), and string or list multiplication and powers are bounded so a
template cannot exhaust memory. An unknown field is an error (StrictUndefined), never an empty hole.
"""

from __future__ import annotations

import operator
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from crmcore.api import (
    JALALI_MONTHS,
    Money,
    ValidationError,
    format_date,
    format_money,
    to_local,
    to_persian_digits,
)

MAX_OUTPUT = {"sms": 1000, "email": 100_000}
MAX_SEQUENCE = 10_000

#: fields every template may use
BASE_FIELDS: dict[str, str] = {
    "name": "the customer's name as stored",
    "first_name": "first word of a person's name",
    "customer_id": "the customer's id",
    "city": "city (may be empty)",
    "tags": "list of tags",
    "today": "today's local date",
    "birthday": "birthday (date or None)",
    "member_since": "local date the customer joined",
}
#: fields each trigger adds (the trigger names the event or date that sends the message)
TRIGGER_FIELDS: dict[str, dict[str, str]] = {
    "manual": {},
    "campaign": {"campaign": "the campaign's name"},
    "purchase": {
        "amount": "purchase amount in the minor unit (rials for IRR)",
        "currency": "ISO code",
        "purchased_at": "local date of the purchase",
        "purchase_id": "interaction id",
    },
    "points_expiring": {"points": "points about to expire", "expires_on": "date they expire"},
    "tier_changed": {
        "old_tier": "previous tier",
        "new_tier": "new tier",
        "direction": "up or down",
    },
    "ticket_closed": {"ticket_id": "ticket id", "ticket_subject": "ticket subject"},
    "winners_drawn": {
        "lottery": "lottery campaign name",
        "prize": "what was won (may be empty)",
        "lottery_code": "the member's lottery code in the published list",
    },
    "survey_invitation": {"survey_url": "link to the survey", "survey_name": "survey title"},
    "reminder_due": {"task_title": "task title", "due_at": "local date the task is due"},
    "referral_joined": {"friend_name": "the friend who joined with the member's code"},
    "referral_reward": {
        "points": "points of the reward",
        "friend_name": "the friend whose purchase qualified",
        "role": "referrer or friend",
    },
    **{
        event: {
            "points": "points moved",
            "fee": "fee the sender paid",
            "transfer_id": "transfer id",
            "sender_name": "who sent the points",
            "recipient_name": "who receives them",
            "respond_by": "date the recipient must accept by (None unless pending)",
            "role": "sender or recipient: which side this message goes to",
        }
        for event in (
            "transfer_received",
            "transfer_pending",
            "transfer_expired",
            "transfer_reversed",
        )
    },
    "birthday": {"age": "age in years, or None when the birth year is unknown"},
    "anniversary": {"years": "whole years of membership"},
    "occasion": {"occasion": "the occasion's name (nowruz, yalda…)"},
}
ALL_FIELDS = set(BASE_FIELDS).union(*TRIGGER_FIELDS.values())

SAMPLE: dict[str, Any] = {
    "name": "مریم رضایی",
    "first_name": "مریم",
    "customer_id": 1,
    "city": "تهران",
    "tags": ["vip"],
    "today": date(2025, 3, 21),
    "birthday": date(1990, 8, 3),
    "member_since": date(2023, 1, 1),
    "campaign": "بهار",
    "amount": 12_500_000,
    "currency": "IRR",
    "purchased_at": date(2025, 3, 20),
    "purchase_id": 1,
    "points": 500,
    "expires_on": date(2025, 4, 20),
    "old_tier": "silver",
    "new_tier": "gold",
    "direction": "up",
    "ticket_id": 1,
    "ticket_subject": "ارسال سفارش",
    "lottery": "قرعه‌کشی نوروز",
    "prize": "سکه",
    "survey_url": "https://example.ir/s/abc",
    "survey_name": "رضایت",
    "task_title": "تماس",
    "due_at": date(2025, 3, 22),
    "age": 34,
    "years": 2,
    "occasion": "nowruz",
    "friend_name": "سارا کریمی",
    "role": "referrer",
    "lottery_code": "4827-1635",
    "fee": 10,
    "transfer_id": 1,
    "sender_name": "نرگس احمدی",
    "recipient_name": "کیان احمدی",
    "respond_by": date(2025, 3, 24),
}

#: Persian texts a trigger uses when it is set without a template of its own (``crm messages
#: triggers set transfer_received``): saved as the SMS template named after the trigger
DEFAULT_TEMPLATES: dict[str, str] = {
    "transfer_received": "{{ first_name }} عزیز، {{ points|number|fa }} امتیاز از "
    "{{ sender_name }} به حساب باشگاه شما منتقل شد.",
    "transfer_pending": "{{ first_name }} عزیز، {{ sender_name }} {{ points|number|fa }} امتیاز "
    "برای شما فرستاده است؛ لطفاً تا {{ respond_by|jalali(true)|fa }} آن را "
    "بپذیرید.",
    "transfer_expired": "{{ first_name }} عزیز، انتقال {{ points|number|fa }} امتیاز به "
    "{{ recipient_name }} در مهلت پذیرفته نشد و امتیازها به حساب شما برگشت.",
    "transfer_reversed": "{% if role == 'sender' %}{{ first_name }} عزیز، انتقال "
    "{{ points|number|fa }} امتیاز به {{ recipient_name }} برگشت خورد و "
    "امتیازها به حساب شما بازگشت.{% else %}{{ first_name }} عزیز، انتقال "
    "{{ points|number|fa }} امتیاز از {{ sender_name }} برگشت خورد و از حساب "
    "شما کسر شد.{% endif %}",
}


# --- filters ---------------------------------------------------------------------------------------------
def _persian_number_text(text: str) -> str:
    return to_persian_digits(text).replace(",", "٬")


def f_fa(value: Any) -> str:
    """Persian digits: {{ points|fa }} → ۵۰۰; {{ 1250000|number|fa }} → ۱٬۲۵۰٬۰۰۰."""
    return _persian_number_text(str(value))


def f_number(value: Any) -> str:
    return f"{_whole(value):,}"


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError(f"expected a whole number, got {type(value).__name__} {value!r}")
    return int(value)


def f_toman(value: Any, persian: bool = False) -> str:
    """Rials shown in toman: {{ amount|toman }} → '1,250,000 toman'; toman(true) → '۱٬۲۵۰٬۰۰۰ تومان'."""
    return format_money(Money(_whole(value), "IRR"), unit="toman", persian_digits=bool(persian))


def f_rial(value: Any, persian: bool = False) -> str:
    return format_money(Money(_whole(value), "IRR"), persian_digits=bool(persian))


def f_money(value: Any, currency: str = "IRR", persian: bool = False) -> str:
    return format_money(Money(_whole(value), str(currency)), persian_digits=bool(persian))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return to_local(value).date()
    if isinstance(value, date):
        return value
    raise ValueError(f"expected a date, got {type(value).__name__} {value!r}")


def f_jalali(value: Any, long: bool = False) -> str:
    """{{ expires_on|jalali }} → 1404-01-31; jalali(true) → '31 فروردین 1404' (add |fa for Persian digits)."""
    d = _as_date(value)
    if not long:
        return format_date(d, "jalali")
    import jdatetime

    j = jdatetime.date.fromgregorian(date=d)
    return f"{j.day} {JALALI_MONTHS[j.month - 1]} {j.year}"


def f_gregorian(value: Any) -> str:
    return format_date(_as_date(value), "gregorian")


def _strict(fn):
    """A filter given a missing field reports the field (``'amount' is undefined``), not its own
    type error about an Undefined value."""

    def wrapper(value, *args):
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()
        return fn(value, *args)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


FILTERS = {
    name: _strict(fn)
    for name, fn in {
        "fa": f_fa,
        "number": f_number,
        "toman": f_toman,
        "rial": f_rial,
        "money": f_money,
        "jalali": f_jalali,
        "gregorian": f_gregorian,
    }.items()
}


def missing_field_message(exc: UndefinedError) -> str:
    """One line naming the missing field and the triggers that provide it."""
    match = re.match(r"'([^']+)' is undefined", exc.message or "")
    if match is None:
        return f"the template uses a field that is not available: {exc.message}"
    name = match[1]
    givers = [t for t, fields in TRIGGER_FIELDS.items() if name in fields]
    where = ""
    if givers:
        where = (
            f" (only the {givers[0]} trigger provides it)"
            if len(givers) == 1
            else f" (only the {', '.join(givers)} triggers provide it)"
        )
    return f"the template needs the field {name!r}, which this message does not have{where}"


# --- the sandbox -----------------------------------------------------------------------------------------
class MessageSandbox(ImmutableSandboxedEnvironment):
    """No globals, no mutation, bounded ``*`` and ``**``, strict about unknown fields."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, op, left, right):
        if op == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise SecurityError("exponent too large for a message template")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(count, int):
                if len(seq) * max(count, 0) > MAX_SEQUENCE:
                    raise SecurityError("repetition too long for a message template")
        return operator.mul(left, right)


def _environment() -> MessageSandbox:
    env = MessageSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.globals.clear()
    env.filters.update(FILTERS)
    return env


ENV = _environment()


def parse(source: str, *, field: str = "body") -> nodes.Template:
    try:
        return ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"line {exc.lineno}: {exc.message}", field=field) from None


def check_source(
    source: str, *, field: str, allowed: set[str] | None = None, trigger: str | None = None
) -> set[str]:
    """Refuse a template with a syntax error, an unknown field, or a sandbox violation on sample data."""
    allowed = ALL_FIELDS if allowed is None else allowed
    names = used_fields_of(source, field)
    unknown = sorted(names - allowed)
    if unknown:
        where = f" for the {trigger} trigger" if trigger else ""
        raise ValidationError(
            f"unknown field {unknown[0]!r}{where} (known: {', '.join(sorted(allowed))})",
            field=field,
        )
    render_source(source, SAMPLE, field=field, channel="email")
    return names


def used_fields_of(source: str, field: str) -> set[str]:
    """Top-level names a template reads (a ValidationError on syntax errors)."""
    return meta.find_undeclared_variables(parse(source, field=field))


def compile_source(source: str, *, field: str = "body"):
    try:
        return ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"line {exc.lineno}: {exc.message}", field=field) from None


def render_compiled(
    compiled, context: dict[str, Any], *, field: str = "body", channel: str = "sms"
) -> str:
    """Render; every failure becomes a ValidationError that says what went wrong and where."""
    try:
        text = compiled.render(**context)
    except SecurityError as exc:
        raise ValidationError(
            f"the template tries to reach something the sandbox forbids ({exc})", field=field
        ) from None
    except UndefinedError as exc:
        raise ValidationError(missing_field_message(exc), field=field) from None
    except TemplateError as exc:
        raise ValidationError(f"the template could not be rendered: {exc}", field=field) from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError) as exc:
        raise ValidationError(f"the template could not be rendered: {exc}", field=field) from None
    text = text.strip()
    limit = MAX_OUTPUT[channel]
    if len(text) > limit:
        raise ValidationError(
            f"the rendered text has {len(text)} characters; a {channel} message may have "
            f"at most {limit}",
            field=field,
        )
    return text


def render_source(
    source: str, context: dict[str, Any], *, field: str = "body", channel: str = "sms"
) -> str:
    return render_compiled(
        compile_source(source, field=field), context, field=field, channel=channel
    )
