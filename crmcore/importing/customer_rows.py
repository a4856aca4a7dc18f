"""One spreadsheet row → a :class:`~crmcore.services.customers.PreparedCustomer`, validated by the kernel's
``prepare_customer`` (and the plugins' attribute specs). Any invalid field rejects the whole row."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import attrs

from ..domain.dates import parse_date
from ..domain.text import normalize
from ..errors import ValidationError
from ..services.attributes import clean_attributes
from ..services.customers import PreparedCustomer, prepare_customer
from .fastphone import fast_parse_phone
from .headers import ColumnMap

#: several phones, emails or tags in one cell: "0912…; 021…", "vip، عمده"
SPLIT = re.compile(r"\s*[;,،؛|\n]\s*")
KINDS = {"person": "person", "individual": "person", "شخص": "person", "حقیقی": "person", "فرد": "person",
         "organisation": "organisation", "organization": "organisation", "company": "organisation",
         "business": "organisation", "شرکت": "organisation", "سازمان": "organisation", "حقوقی": "organisation"}
YES = {"1", "true", "yes", "y", "x", "on", "بله", "آری", "اری", "اره", "دارد", "✓", "✔"}
NO = {"0", "false", "no", "n", "off", "خیر", "نه", "ندارد", "-"}


def parse_yes_no(raw: str, field: str) -> bool | None:
    """``None`` for an empty cell; ``True``/``False`` for yes/no in English or Persian; else an error."""
    text = normalize(raw)
    if not text:
        return None
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValidationError(f"{raw!r} is not yes or no (yes/no, 1/0, بله/خیر)", field=field)


def split_values(cell: str) -> list[str]:
    return [v for v in SPLIT.split(cell.strip()) if v] if cell and cell.strip() else []


@attrs.frozen
class RowData:
    """A validated row: the prepared customer plus which optional columns actually had a value."""

    prepared: PreparedCustomer
    given: frozenset[str]  # fields with a non-empty value in the row (kind, consent_sms, …)


class CustomerRowReader:
    def __init__(self, uow, cmap: ColumnMap, headers: list[str]):
        self.uow = uow
        self.fields = cmap.fields
        self.width = len(headers)
        self._dates: dict[str, date] = {}

    def is_blank(self, cells: list[str]) -> bool:
        return not "".join(cells).strip()  # cells are always text (sources.cell_text)

    def read(self, cells: list[str]) -> RowData:
        """Validate ``cells``; raise :class:`ValidationError` naming the first bad field."""
        if len(cells) > self.width and any(c.strip() for c in cells[self.width:]):
            raise ValidationError(f"the row has {len(cells)} values but the header has {self.width} columns "
                                  "(an unquoted delimiter inside a value?)", field="row")
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {"phone": [], "email": [], "tags": []}
        attributes: dict[str, Any] = {}
        for field, cell in zip(self.fields, cells):
            if field is None or not cell:
                continue
            value = cell.strip()
            if not value:
                continue
            if field in multi:
                multi[field].extend(split_values(value))
            elif field.startswith("attr."):
                attributes[field[5:]] = value
            else:
                single[field] = value
        name = single.get("name") or " ".join(x for x in (single.get("first_name"), single.get("last_name")) if x)
        phones = []
        for raw in multi["phone"]:
            ph = fast_parse_phone(raw)
            if ph not in phones:
                phones.append(ph)
        kind_raw = single.get("kind")
        kind = KINDS.get(normalize(kind_raw), kind_raw) if kind_raw else "person"
        sms = parse_yes_no(single.get("consent_sms", ""), "consent_sms")
        mail = parse_yes_no(single.get("consent_email", ""), "consent_email")
        if attributes:
            attributes = {k: v for k, v in clean_attributes(self.uow, attributes).items() if v is not None}
        prepared = prepare_customer(
            name=name, kind=kind, phones=(), emails=multi["email"], tags=multi["tags"],
            external_id=single.get("external_id"), birthday=self._birthday(single.get("birthday")),
            city=single.get("city"), address=single.get("address"), owner=single.get("owner"),
            consent_sms=bool(sms), consent_email=bool(mail), attributes=attributes)
        given = set(single)
        if sms is None:
            given.discard("consent_sms")
        if mail is None:
            given.discard("consent_email")
        return RowData(attrs.evolve(prepared, phones=tuple(phones)), frozenset(given))

    def _birthday(self, raw: str | None) -> date | None:
        if not raw:
            return None
        found = self._dates.get(raw)
        if found is None:
            found = parse_date(raw, field="birthday")
            if len(self._dates) < 50_000:
                self._dates[raw] = found
        return found
