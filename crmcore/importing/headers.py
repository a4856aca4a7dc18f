"""Column headers recognised in English and Persian, and hand mappings (``--mapping COL=FIELD``).

Headers are compared in the Persian-normalised form (ی/ي, ک/ك, ZWNJ, case, ``_``/``-`` as spaces), and a
trailing number is ignored, so ``Mobile 2``, ``تلفن۲`` and ``phone_2`` are all phone columns.
"""

from __future__ import annotations

import re
from typing import Iterable

import attrs

from ..domain.text import normalize
from ..errors import ValidationError

CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "full name",
        "fullname",
        "customer name",
        "display name",
        "contact name",
        "customer",
        "نام و نام خانوادگی",
        "نام کامل",
        "نام مشتری",
        "مشتری",
        "نام شرکت",
    ),
    "first_name": ("first name", "firstname", "given name", "نام کوچک"),
    "last_name": (
        "last name",
        "lastname",
        "surname",
        "family name",
        "family",
        "نام خانوادگی",
        "فامیلی",
        "فامیل",
    ),
    "phone": (
        "phone",
        "phones",
        "mobile",
        "mobile phone",
        "cell",
        "cellphone",
        "cell phone",
        "tel",
        "telephone",
        "phone number",
        "mobile number",
        "موبایل",
        "تلفن",
        "تلفن ها",
        "تلفن همراه",
        "همراه",
        "شماره موبایل",
        "شماره تلفن",
        "شماره همراه",
        "تلفن ثابت",
        "شماره تماس",
        "تلفن تماس",
    ),
    "email": (
        "email",
        "emails",
        "e mail",
        "mail",
        "email address",
        "ایمیل",
        "ایمیل ها",
        "پست الکترونیک",
        "پست الکترونیکی",
        "رایانامه",
    ),
    "city": ("city", "town", "شهر"),
    "address": ("address", "street address", "postal address", "آدرس", "نشانی"),
    "birthday": (
        "birthday",
        "birth date",
        "birthdate",
        "date of birth",
        "dob",
        "تاریخ تولد",
        "تولد",
    ),
    "tags": ("tag", "tags", "label", "labels", "segment", "برچسب", "برچسب ها", "تگ", "تگ ها"),
    "external_id": (
        "customer code",
        "code",
        "external id",
        "customer id",
        "customer number",
        "account number",
        "client id",
        "کد مشتری",
        "کد",
        "شماره مشتری",
        "شناسه مشتری",
        "کد اشتراک",
        "شماره اشتراک",
    ),
    "kind": ("kind", "type", "customer type", "نوع", "نوع مشتری"),
    "owner": (
        "owner",
        "account manager",
        "salesperson",
        "sales rep",
        "مسئول",
        "کارشناس",
        "مسئول حساب",
        "کارشناس فروش",
    ),
    "consent_sms": ("sms consent", "consent sms", "sms opt in", "رضایت پیامک", "رضایت پیامکی"),
    "consent_email": ("email consent", "consent email", "email opt in", "رضایت ایمیل"),
}
#: fields that may come from several columns (values are joined)
MULTI = {"phone", "email", "tags"}

INTERACTION_ALIASES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customer",
        "customer id",
        "customer code",
        "client",
        "client id",
        "customer ref",
        "مشتری",
        "کد مشتری",
        "شناسه مشتری",
        "شماره مشتری",
    ),
    "kind": ("kind", "type", "interaction", "نوع", "نوع تعامل"),
    "occurred_at": (
        "occurred at",
        "date",
        "time",
        "datetime",
        "date time",
        "at",
        "when",
        "timestamp",
        "purchase date",
        "order date",
        "تاریخ",
        "زمان",
        "تاریخ و زمان",
        "تاریخ خرید",
    ),
    "amount": (
        "amount",
        "total",
        "value",
        "price",
        "sum",
        "مبلغ",
        "جمع",
        "مبلغ کل",
        "قیمت",
        "مبلغ خرید",
    ),
    "currency": ("currency", "ارز", "واحد پول"),
    "unit": ("unit", "واحد"),
    "channel": ("channel", "source", "store", "کانال", "فروشگاه"),
    "direction": ("direction", "جهت"),
    "external_id": (
        "external id",
        "id",
        "order id",
        "order number",
        "invoice",
        "invoice number",
        "receipt",
        "شماره فاکتور",
        "شناسه",
        "شماره سفارش",
        "کد سفارش",
    ),
    "customer_name": ("customer name", "name", "نام", "نام مشتری", "نام و نام خانوادگی"),
}
#: when an interaction file has no customer column, one of these identifies the customer
INTERACTION_CUSTOMER_FALLBACK = (
    "phone",
    "mobile",
    "email",
    "موبایل",
    "تلفن",
    "ایمیل",
    "تلفن همراه",
    "شماره موبایل",
)

_TRAILING_NUMBER = re.compile(r"\s*\d+$")


def header_key(text: str) -> str:
    """The comparison form of a header: normalised, ``_ - . :`` as spaces, no trailing number."""
    key = normalize(text).replace("_", " ").replace("-", " ").replace(".", " ").replace(":", " ")
    key = " ".join(key.split())
    return _TRAILING_NUMBER.sub("", key) or key


def _lookup(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(a): field for field, names in aliases.items() for a in names}


@attrs.frozen
class ColumnMap:
    """Which field each column feeds (``None``: ignored)."""

    fields: tuple[str | None, ...]
    ignored: tuple[str, ...]

    def used(self) -> set[str]:
        return {f for f in self.fields if f}


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["موبایل=phone", "Code=external_id"]`` → ``{header_key: field}``."""
    out: dict[str, str] = {}
    for item in items:
        col, sep, field = item.rpartition("=")
        if not sep or not col.strip() or not field.strip():
            raise ValidationError(f"{item!r} is not COLUMN=FIELD", field="mapping")
        out[header_key(col)] = field.strip()
    return out


def map_columns(
    headers: list[str],
    aliases: dict[str, tuple[str, ...]],
    mapping: dict[str, str],
    *,
    extra_prefixes: tuple[str, ...] = (),
    catch_all: str | None = None,
) -> ColumnMap:
    """Map each header to a field: a hand mapping first, then the aliases.

    ``extra_prefixes`` are accepted mapping targets beyond the known fields (``attr.NAME``, ``payload.NAME``);
    ``catch_all`` names the prefix unknown columns get (interactions put them in the payload) — otherwise they
    are ignored and listed. ``ignore`` as a target drops a column.
    """
    known = set(aliases)
    lookup = _lookup(aliases)
    keys = [header_key(h) for h in headers]
    for col, field in mapping.items():
        if col not in keys:
            raise ValidationError(
                f"--mapping names column {col!r}, which is not in the file "
                f"(columns: {', '.join(h for h in headers if h)})",
                field="mapping",
            )
        if (
            field != "ignore"
            and field not in known
            and not field.startswith(extra_prefixes or ("\0",))
        ):
            allowed = sorted(known) + [p + "NAME" for p in extra_prefixes] + ["ignore"]
            raise ValidationError(
                f"--mapping target {field!r} is not a field (use one of: {', '.join(allowed)})",
                field="mapping",
            )
    # Persian "نام" is the whole name unless a family-name column is there too
    has_last = any(mapping.get(k, lookup.get(k)) == "last_name" for k in keys)
    fields: list[str | None] = []
    ignored: list[str] = []
    for header, key in zip(headers, keys):
        if key in mapping:
            target = mapping[key]
            fields.append(None if target == "ignore" else target)
            continue
        field = lookup.get(key)
        prefix = next(
            (
                p
                for p in extra_prefixes
                if header.strip().lower().startswith(p) and len(header.strip()) > len(p)
            ),
            None,
        )
        if field is None and prefix:  # "attr.national_id", as export writes it
            field = prefix + header.strip()[len(prefix) :]
        if field is None and key in ("نام", "first name") and "name" in aliases:
            field = "first_name" if has_last else "name"
        if field is None and key == "نام" and "customer_name" in aliases:
            field = "customer_name"
        if field is None:
            if catch_all and header:
                fields.append(catch_all + header.strip())
            else:
                fields.append(None)
                if header:
                    ignored.append(header)
            continue
        if field not in MULTI and field in fields:
            raise ValidationError(
                f"two columns mean {field!r} (the second is {header!r}); map one of them with "
                f'--mapping "{header}=ignore"',
                field="mapping",
            )
        fields.append(field)
    return ColumnMap(tuple(fields), tuple(ignored))
