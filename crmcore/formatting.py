"""How values are shown to people: one formatting layer for the web, the CLI, reports and messages.

A :class:`Formatter` is built from the reader's language (``fa`` or ``en``), calendar (``jalali`` or
``gregorian``), time zone (``Asia/Tehran`` by default) and the business's IRR display unit (``rial``
or
``toman``, the kernel setting ``kernel.money_unit``). Stored values stay exact and in UTC; they
become text
only here, at the edge:

* moments (aware UTC datetimes) are put in the reader's zone and calendar: ``۱۴۰۳/۰۷/۱۵ ۱۴:۳۰`` (fa,
  Jalali) or ``2024-10-06 14:30`` (en, Gregorian). Persian dates use ``/`` between their parts: it
  keeps a
  run of Persian digits together in right-to-left text, where ``-`` would let the parts change
  places;
* money in the currency's major unit with its decimals (``Money(7550, "USD")`` → ``75.50 USD``), IRR
in
  rials or tomans per the business's setting (``۱٬۲۵۰٬۰۰۰ تومان``);
* numbers and percentages with one grouping style per language: ``1,250,000`` and ``12.5%`` in
English,
  ``۱٬۲۵۰٬۰۰۰`` and ``۱۲٫۵٪`` in Persian (Persian digits, Arabic thousands and decimal separators);
* nothing (``None``, ``""``) as one placeholder, :data:`EMPTY` (``—``).

A value that cannot be shown the way it was asked for (a string where money was expected, an unknown
currency) raises :class:`FormattingError`; the web's panels and the CLI catch it per plugin panel.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .domain.dates import DEFAULT_TIMEZONE, JALALI_MONTHS
from .domain.money import Money, currency_exponent
from .domain.text import to_persian_digits
from .errors import ValidationError

EMPTY = "—"
LANGUAGES = ("fa", "en")
CALENDARS = ("jalali", "gregorian")
MONEY_UNITS = ("rial", "toman")
#: where the business's IRR display unit is stored (``crm`` settings namespace and key)
MONEY_UNIT_SETTING = ("kernel", "money_unit")

GREGORIAN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
GREGORIAN_MONTHS_FA = [
    "ژانویه",
    "فوریه",
    "مارس",
    "آوریل",
    "مه",
    "ژوئن",
    "ژوئیه",
    "اوت",
    "سپتامبر",
    "اکتبر",
    "نوامبر",
    "دسامبر",
]
JALALI_MONTHS_EN = [
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
]
#: Persian names of the currencies a business here meets; others show their ISO code
CURRENCY_NAMES_FA = {
    "IRR": "ریال",
    "USD": "دلار",
    "EUR": "یورو",
    "AED": "درهم",
    "TRY": "لیر",
    "GBP": "پوند",
    "CNY": "یوآن",
    "IQD": "دینار عراق",
}

_FA_GROUP, _FA_DECIMAL, _FA_PERCENT = "\u066c", "\u066b", "\u066a"  # ٬ ٫ ٪


class FormattingError(ValidationError):
    """A value that cannot be shown as asked (e.g. text given where money was expected)."""


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ValidationError(
            f"{field} must be one of {', '.join(allowed)}, not {value!r}", field=field
        )
    return value


def _zone(_instance, _attribute, value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {value!r} (e.g. Asia/Tehran, UTC)", field="timezone"
        ) from None


#: web and email addresses inside a text (kept as typed when digits are shown in Persian)
_ADDRESS = re.compile(r"((?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


@attrs.frozen
class Formatter:
    """The reader's way of seeing values. Build one with :meth:`for_language`, :meth:`for_app` (CLI)
    or :func:`formatter_for` (a unit of work, which also reads the business's money unit); then call
    :meth:`moment`, :meth:`date`, :meth:`money`, :meth:`number`, :meth:`percent` or
    :meth:`value`."""

    lang: str = attrs.field(
        default="fa", validator=lambda _i, _a, v: _choice(v, LANGUAGES, "language")
    )
    calendar: str = attrs.field(
        default="jalali", validator=lambda _i, _a, v: _choice(v, CALENDARS, "calendar")
    )
    tz: str = attrs.field(default=DEFAULT_TIMEZONE, validator=_zone)
    money_unit: str = attrs.field(
        default="rial", validator=lambda _i, _a, v: _choice(v, MONEY_UNITS, "money_unit")
    )

    # --- construction
    # ---------------------------------------------------------------------------------
    @classmethod
    def for_language(
        cls,
        lang: str,
        *,
        calendar: str | None = None,
        tz: str | None = None,
        money_unit: str = "rial",
    ) -> "Formatter":
        """Jalali for Persian, Gregorian for English, unless a calendar is given."""
        lang = lang if lang in LANGUAGES else "fa"
        return cls(
            lang,
            calendar or ("jalali" if lang == "fa" else "gregorian"),
            tz or DEFAULT_TIMEZONE,
            money_unit,
        )

    @classmethod
    def for_app(cls, app, *, lang: str | None = None, money_unit: str = "rial") -> "Formatter":
        """The CLI's formatter: the app's calendar and zone (``--calendar``, ``--tz``); the language
        is
        ``lang``, else :func:`cli_language` (``CRM_LANG`` or a Persian locale)."""
        return cls(lang or cli_language(), app.calendar, app.timezone, money_unit)

    def with_unit(self, money_unit: str | None) -> "Formatter":
        return attrs.evolve(self, money_unit=money_unit or "rial")

    @property
    def persian(self) -> bool:
        return self.lang == "fa"

    # --- text
    # ------------------------------------------------------------------------------------------
    def digits(self, text: Any) -> str:
        """``text`` with Persian digits on a Persian page (and unchanged otherwise); web addresses
        and email addresses in it keep their Latin digits, so they still work when copied."""
        text = "" if text is None else str(text)
        if not self.persian:
            return text
        if "@" not in text and "://" not in text and "www." not in text:
            return to_persian_digits(text)  # most values: no address to keep (every table cell)
        parts = _ADDRESS.split(text)  # odd positions are the addresses
        return "".join(p if i % 2 else to_persian_digits(p) for i, p in enumerate(parts))

    def pick(self, en: str | None, fa: str | None = None) -> str:
        """The text for this language: ``fa`` on a Persian page when given, else ``en``."""
        return (fa if self.persian and fa else en) or ""

    def yes_no(self, value: bool) -> str:
        return ("بله" if value else "خیر") if self.persian else ("yes" if value else "no")

    def join(self, items) -> str:
        return ("، " if self.persian else ", ").join(items)

    # --- numbers
    # --------------------------------------------------------------------------------------
    def _grouped(self, value: Decimal, places: int | None) -> str:
        if places is not None:
            value = value.quantize(Decimal(1).scaleb(-places))
        sign = "-" if value < 0 else ""
        whole, _, fraction = f"{abs(value):f}".partition(".")
        text = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
        if self.persian:
            text = to_persian_digits(text.replace(",", _FA_GROUP).replace(".", _FA_DECIMAL))
        return sign + text

    def number(self, value: Any, *, places: int | None = None) -> str:
        """``1250000`` → ``1,250,000`` / ``۱٬۲۵۰٬۰۰۰``; Decimals keep their decimals (or
        ``places``)."""
        if value is None or value == "":
            return EMPTY
        return self._grouped(_decimal(value), places)

    def percent(self, value: Any, *, places: int = 0) -> str:
        """A value in percent points: ``63`` → ``63%`` / ``۶۳٪``; ``Decimal("12.5"), places=1`` →
        ``12.5%``."""
        if value is None or value == "":
            return EMPTY
        text = self._grouped(_decimal(value), places)
        return text + (_FA_PERCENT if self.persian else "%")

    # --- money
    # ----------------------------------------------------------------------------------------
    def money(self, value: Money | None, *, unit: bool = True) -> str:
        """A :class:`~crmcore.domain.money.Money` in its major unit: ``75.50 USD``, ``۱٬۲۵۰٬۰۰۰
        ریال`` or
        ``۱۲۵٬۰۰۰ تومان`` (IRR per the business's unit); ``unit=False`` leaves out the currency."""
        if value is None:
            return EMPTY
        if not isinstance(value, Money):
            raise FormattingError(f"{value!r} is not money (give crmcore.api.Money)", field="money")
        places = currency_exponent(value.currency)
        if value.currency == "IRR" and self.money_unit == "toman":
            amount = Decimal(value.minor) / 10
            places = 0 if value.minor % 10 == 0 else 1
            name = "تومان" if self.persian else "toman"
        else:
            amount = value.amount
            name = (
                CURRENCY_NAMES_FA.get(value.currency, value.currency)
                if self.persian
                else value.currency
            )
        text = self._grouped(amount, places)
        return f"{text} {name}" if unit else text

    def money_unit_name(self, currency: str = "IRR") -> str:
        """The unit amounts of ``currency`` are shown in (column headings: "Amount (toman)")."""
        if currency == "IRR" and self.money_unit == "toman":
            return "تومان" if self.persian else "toman"
        return CURRENCY_NAMES_FA.get(currency, currency) if self.persian else currency

    # --- dates and moments
    # ----------------------------------------------------------------------------
    def _local(self, value: datetime) -> datetime:
        if (
            value.tzinfo is None
        ):  # stored moments are UTC; a naive one read back from SQLite is UTC too
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(ZoneInfo(self.tz))

    def _day(self, day: date, long: bool) -> str:
        if self.calendar == "jalali":
            import jdatetime

            j = jdatetime.date.fromgregorian(date=day)
            y, m, d = j.year, j.month, j.day
            months = JALALI_MONTHS if self.persian else JALALI_MONTHS_EN
        else:
            y, m, d = day.year, day.month, day.day
            months = GREGORIAN_MONTHS_FA if self.persian else GREGORIAN_MONTHS
        if long:
            text = f"{d} {months[m - 1]} {y}"
        else:
            sep = "/" if self.persian else "-"
            text = f"{y:04d}{sep}{m:02d}{sep}{d:02d}"
        return self.digits(text)

    def date(self, value: date | datetime | str | None, *, long: bool = False) -> str:
        """A day in the reader's calendar (``۱۴۰۳/۰۷/۱۵``, ``2024-10-06``; ``long``: ``15 مهر
        1403``).
        A datetime is first put in the reader's zone; an ISO string is read first."""
        value = _read_moment(value)
        if value is None:
            return EMPTY
        if isinstance(value, datetime):
            value = self._local(value).date()
        return self._day(value, long)

    def moment(self, value: datetime | date | str | None, *, seconds: bool = False) -> str:
        """A point in time in the reader's zone and calendar: ``۱۴۰۳/۰۷/۱۵ ۱۴:۳۰``. A plain date
        shows as
        :meth:`date`."""
        value = _read_moment(value)
        if value is None:
            return EMPTY
        if not isinstance(value, datetime):
            return self._day(value, False)
        local = self._local(value)
        clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
        return f"{self._day(local.date(), False)} {self.digits(clock)}"

    def time(self, value: datetime | str | None) -> str:
        """The time of day in the reader's zone: ``۱۴:۳۰``."""
        value = _read_moment(value)
        if not isinstance(value, datetime):
            return EMPTY
        return self.digits(f"{self._local(value):%H:%M}")

    def period(self, key: str | None) -> str:
        """A report period's key as written in its calendar (``1403-07``, ``1403-07-15``, ``2024``):
        ``/`` between the parts and Persian digits on a Persian page."""
        if key is None or key == "":
            return EMPTY
        text = str(key)
        return self.digits(text.replace("-", "/") if self.persian and _PERIOD.match(text) else text)

    # --- anything
    # -------------------------------------------------------------------------------------
    def value(self, value: Any) -> str:
        """Any scalar by its type: money, moments, dates, numbers, yes/no; text as it is (digits of
        the language); nothing as :data:`EMPTY`."""
        if value is None or value == "":
            return EMPTY
        if isinstance(value, bool):
            return self.yes_no(value)
        if isinstance(value, Money):
            return self.money(value)
        if isinstance(value, (datetime, date)):
            return self.moment(value) if isinstance(value, datetime) else self.date(value)
        if isinstance(value, (int, Decimal)):
            return self.number(value)
        if isinstance(value, float):
            return self.number(Decimal(str(value)))
        if isinstance(value, str) and _PERIOD.match(value):
            return self.period(value)
        return self.digits(value)

    def loose(self, value: Any) -> str:
        """A value as reports and older plugin data carry it: ISO strings become dates or moments,
        exact
        decimal strings (``"1250000"``, ``"86.4"``) numbers with grouping, the rest
        :meth:`value`."""
        if isinstance(value, str):
            if len(value) >= 10 and _read_moment(value) is not None:
                return self.moment(value) if len(value) > 10 else self.date(value)
            if _DECIMAL.match(value):
                return self.number(Decimal(value))
        if isinstance(value, (list, tuple)):
            return self.join(self.loose(v) for v in value) if value else EMPTY
        return self.value(value)

    def format(self, value: Any, kind: str = "auto", *, places: int | None = None) -> str:
        """``value`` as ``kind``: ``auto`` (by type), ``text``, ``number``, ``percent``, ``money``,
        ``date``,
        ``moment``, ``time``. Raises :class:`FormattingError` for a value ``kind`` cannot show."""
        try:
            if kind == "auto":
                return self.value(value)
            if kind == "text":
                return EMPTY if value is None or value == "" else self.digits(value)
            if kind == "number":
                return self.number(value, places=places)
            if kind == "percent":
                return self.percent(value, places=places or 0)
            if kind == "money":
                return self.money(value)
            if kind in ("date", "moment", "time"):
                if value not in (None, "") and _read_moment(value) is None:
                    raise FormattingError(f"{value!r} is not a {kind}", field=kind)
                return getattr(self, kind)(value)
        except FormattingError:
            raise
        except (ValidationError, ValueError, TypeError, InvalidOperation, ArithmeticError) as exc:
            raise FormattingError(
                f"{value!r} cannot be shown as {kind}: {exc}", field=kind
            ) from None
        raise FormattingError(f"unknown value kind {kind!r}", field="kind")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise FormattingError(f"{value!r} is not a number", field="number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, (float, str)):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise FormattingError(f"{value!r} is not a number", field="number") from None
        if number.is_finite():
            return number
    raise FormattingError(f"{value!r} is not a number", field="number")


_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_PERIOD = re.compile(r"^\d{4}(-\d{2}){1,2}$")


def _read_moment(value: Any) -> date | datetime | None:
    """A date or datetime from a value or an ISO 8601 string; ``None`` for nothing or anything else.
    A
    string with a year before 1700 is a day already written in the Jalali calendar, not a moment."""
    if isinstance(value, (date, datetime)):
        return value
    if (
        isinstance(value, str)
        and 10 <= len(value) <= 40
        and value[4:5] == "-"
        and value[7:8] == "-"
        and value[:4].isdigit()
        and int(value[:4]) >= 1700
    ):
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def read_moment(value: Any) -> date | datetime | None:
    """A date or datetime from a value or an ISO 8601 string (``None`` when it is neither)."""
    return _read_moment(value)


def cli_language() -> str:
    """The CLI's language: ``CRM_LANG`` (``fa``/``en``), else Persian for a Persian locale
    (``LANG=fa_IR.UTF-8``), else English."""
    explicit = os.environ.get("CRM_LANG", "").strip().lower()
    if explicit in LANGUAGES:
        return explicit
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        if value:
            return "fa" if value.lower().startswith("fa") else "en"
    return "en"


def money_unit_of(uow) -> str:
    """The business's IRR display unit (``rial`` unless set: ``crm`` setting
    ``kernel.money_unit``)."""
    from .services.settings import get_setting

    unit = get_setting(uow, *MONEY_UNIT_SETTING, "rial")
    return unit if unit in MONEY_UNITS else "rial"


def formatter_for(
    uow, lang: str, *, calendar: str | None = None, tz: str | None = None
) -> Formatter:
    """The formatter of a reader in ``lang`` in this business (its money unit read from the
    settings)."""
    return Formatter.for_language(
        lang, calendar=calendar, tz=tz or uow.app.timezone, money_unit=money_unit_of(uow)
    )
