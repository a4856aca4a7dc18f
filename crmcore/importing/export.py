"""``crm customers export``: active customers to CSV or XLSX, in a form ``crm customers import`` reads back.

Headers in English (``customer_code, name, phones, …``) or Persian (``کد مشتری، نام و نام خانوادگی، تلفن…``);
several phones, emails or tags are joined with ``; ``; birthdays in the application's calendar (Jalali or
Gregorian — import reads both); custom attributes as ``attr.NAME`` columns. Rows are streamed from the
database in batches, so memory stays flat. CSV is written as UTF-8 with a byte-order mark (Excel then shows
Persian correctly) unless another encoding is asked for.

Text a spreadsheet program would run as a formula is neutralised (:mod:`crmcore.domain.spreadsheet`)
unless ``raw`` is asked for.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from ..domain.dates import format_date
from ..domain.spreadsheet import safe_row, xlsx_row
from ..errors import ValidationError
from ..services.access import customer_clause
from ..services.search_fields import where_conditions
from ..storage.models import Customer

COLUMNS = [  # field, English header, Persian header
    ("external_id", "customer_code", "کد مشتری"),
    ("name", "name", "نام و نام خانوادگی"),
    ("kind", "kind", "نوع"),
    ("phones", "phones", "تلفن"),
    ("emails", "emails", "ایمیل"),
    ("tags", "tags", "برچسب"),
    ("city", "city", "شهر"),
    ("address", "address", "آدرس"),
    ("birthday", "birthday", "تاریخ تولد"),
    ("owner", "owner", "مسئول"),
    ("consent_sms", "sms_consent", "رضایت پیامک"),
    ("consent_email", "email_consent", "رضایت ایمیل"),
]
PERSIAN_VALUES = {"person": "حقیقی", "organisation": "حقوقی", True: "بله", False: "خیر"}
ENGLISH_VALUES = {True: "yes", False: "no"}
YIELD = 1000


def _active(where: list[str], uow):
    readable = customer_clause(uow, "read")  # record rules of the user exporting (``--as``)
    return and_(
        Customer.merged_into_id.is_(None),
        Customer.forgotten_at.is_(None),
        *where_conditions(uow, where),
        *([] if readable is None else [readable]),
    )


def _attribute_names(uow, condition) -> list[str]:
    names: set[str] = set()
    for attributes in uow.session.scalars(
        select(Customer.attributes).where(condition).execution_options(yield_per=YIELD)
    ):
        names.update(attributes or {})
    return sorted(names)


def customer_rows(
    uow, *, persian: bool = False, calendar: str = "gregorian", where: Iterable[str] = ()
) -> tuple[list[str], Iterator[list[str]]]:
    """The header and a lazy iterator of rows (text cells) of the active customers matching ``where``."""
    condition = _active(list(where), uow)
    attributes = _attribute_names(uow, condition)
    headers = [fa if persian else en for _f, en, fa in COLUMNS] + [f"attr.{a}" for a in attributes]
    values = PERSIAN_VALUES if persian else ENGLISH_VALUES
    tz = uow.app.timezone

    def rows() -> Iterator[list[str]]:
        stmt = (
            select(Customer)
            .where(condition)
            .order_by(Customer.id)
            .options(
                selectinload(Customer.phones),
                selectinload(Customer.emails),
                selectinload(Customer.tags),
            )
            .execution_options(yield_per=YIELD)
        )
        for c in uow.session.scalars(stmt):
            data: dict[str, Any] = {
                "external_id": c.external_id or "",
                "name": c.display_name,
                "kind": values.get(c.kind, c.kind),
                "phones": "; ".join(p.e164 for p in c.phones),
                "emails": "; ".join(e.email for e in c.emails),
                "tags": "; ".join(t.tag for t in c.tags),
                "city": c.city or "",
                "address": c.address or "",
                "birthday": format_date(c.birthday, calendar, tz=tz) if c.birthday else "",
                "owner": c.owner or "",
                "consent_sms": values[bool(c.consent_sms)],
                "consent_email": values[bool(c.consent_email)],
            }
            row = [data[f] for f, _en, _fa in COLUMNS]
            row += [_text((c.attributes or {}).get(a)) for a in attributes]
            yield row

    return headers, rows()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def export_customers(
    uow,
    path: str | Path,
    *,
    persian: bool = False,
    calendar: str = "gregorian",
    where: Iterable[str] = (),
    encoding: str = "utf-8-sig",
    fmt: str | None = None,
    raw: bool = False,
) -> int:
    """Write the customers to ``path`` (``.csv`` or ``.xlsx``, or ``fmt``); returns how many were
    written. ``raw``: cells exactly as stored, for programs (never to open in a spreadsheet)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if fmt not in ("csv", "xlsx"):
        raise ValidationError(f"cannot export to {fmt!r}: use a .csv or .xlsx file", field="file")
    headers, rows = customer_rows(uow, persian=persian, calendar=calendar, where=where)
    count = 0
    if fmt == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("مشتریان" if persian else "customers")
        if persian:
            ws.sheet_view.rightToLeft = True
        ws.append(xlsx_row(ws, headers, raw=raw))
        for row in rows:
            ws.append(xlsx_row(ws, row, raw=raw))
            count += 1
        wb.save(path)
        return count
    try:
        with open(path, "w", encoding=encoding, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(safe_row(headers, raw=raw))
            for row in rows:
                writer.writerow(safe_row(row, raw=raw))
                count += 1
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"a value cannot be written in {encoding}: {exc.object[exc.start : exc.end]!r}; "
            "use UTF-8",
            field="encoding",
        ) from None
    except LookupError:
        raise ValidationError(f"unknown encoding {encoding!r}", field="encoding") from None
    return count
