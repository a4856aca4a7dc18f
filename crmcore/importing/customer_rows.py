"""One spreadsheet row → a :class:`~crmcore.services.customers.PreparedCustomer`, validated by the kernel's
``prepare_customer`` (and the plugins' attribute specs). Any invalid field rejects the whole row."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import attrs

from ..domain.dates import parse_date
from ..domain.text import normalize
from ..errors import CRMError, ValidationError
from ..services.attributes import AttributeSpec, attribute_specs, clean_attributes
from ..services.customers import PreparedCustomer, customer_today, prepare_customer
from .fastphone import fast_parse_phone
from .headers import ColumnMap

#: several phones, emails or tags in one cell: "0912…; 021…", "vip، عمده"
_SEPARATOR = r"[;,،؛|\n]"
SPLIT = re.compile(rf"\s*{_SEPARATOR}\s*")
_HAS_SEPARATOR = re.compile(_SEPARATOR)
KINDS = {
    "person": "person",
    "individual": "person",
    "شخص": "person",
    "حقیقی": "person",
    "فرد": "person",
    "organisation": "organisation",
    "organization": "organisation",
    "company": "organisation",
    "business": "organisation",
    "شرکت": "organisation",
    "سازمان": "organisation",
    "حقوقی": "organisation",
}
YES = {"1", "true", "yes", "y", "x", "on", "بله", "آری", "اری", "اره", "دارد", "✓", "✔"}
NO = {"0", "false", "no", "n", "off", "خیر", "نه", "ندارد", "-"}
MULTI = ("phone", "email", "tags")  # fields a cell may hold several of


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
        self.today = customer_today(uow)  # no birthday after it
        # the mapped columns only, by kind: one value, several values in a cell, an attribute
        mapped = [(i, f) for i, f in enumerate(self.fields) if f is not None]
        self._single = [(i, f) for i, f in mapped if f not in MULTI and not f.startswith("attr.")]
        self._multi = [(i, f) for i, f in mapped if f in MULTI]
        self._attributes = [(i, f[5:]) for i, f in mapped if f.startswith("attr.")]
        # the plugins' attribute specs, asked once per import instead of once per row (a hook call each)
        self._specs: dict[str, AttributeSpec] | CRMError | None = None
        if self._attributes:
            try:
                self._specs = attribute_specs(uow)
            except (
                CRMError
            ) as exc:  # two plugins disagree: every row with an attribute is rejected, as before
                self._specs = exc

    def is_blank(self, cells: list[str]) -> bool:
        return not "".join(cells).strip()  # cells are always text (sources.cell_text)

    def read(self, cells: list[str]) -> RowData:
        """Validate ``cells``; raise :class:`ValidationError` naming the first bad field."""
        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            raise ValidationError(
                f"the row has {len(cells)} values but the header has {self.width} columns "
                "(an unquoted delimiter inside a value?)",
                field="row",
            )
        if len(cells) < self.width:  # a short row: the missing cells are empty
            cells = cells + [""] * (self.width - len(cells))
        single: dict[str, str] = {}
        for i, field in self._single:
            value = cells[i]
            if value and (value := value.strip()):
                single[field] = value
        multi: dict[str, list[str]] = {"phone": [], "email": [], "tags": []}
        for i, field in self._multi:
            value = cells[i]
            if value and (value := value.strip()):
                if _HAS_SEPARATOR.search(value) is None:  # the common case: one value in the cell
                    multi[field].append(value)
                else:
                    multi[field].extend(v for v in SPLIT.split(value) if v)
        attributes: dict[str, Any] = {}
        for i, name in self._attributes:
            value = cells[i]
            if value and (value := value.strip()):
                attributes[name] = value
        name = single.get("name")
        if not name:  # first and last name, either of them alone
            first, last = single.get("first_name"), single.get("last_name")
            name = f"{first} {last}" if first and last else first or last or ""
        phones = list(map(fast_parse_phone, multi["phone"]))
        kind_raw = single.get("kind")
        kind = KINDS.get(normalize(kind_raw), kind_raw) if kind_raw else "person"
        sms = (
            parse_yes_no(single["consent_sms"], "consent_sms") if "consent_sms" in single else None
        )
        mail = (
            parse_yes_no(single["consent_email"], "consent_email")
            if "consent_email" in single
            else None
        )
        if attributes:
            if isinstance(self._specs, CRMError):
                raise type(self._specs)(self._specs.message, field=self._specs.field)
            attributes = {
                k: v
                for k, v in clean_attributes(self.uow, attributes, specs=self._specs).items()
                if v is not None
            }
        prepared = prepare_customer(
            name=name,
            kind=kind,
            phones=phones,
            emails=multi["email"],
            tags=multi["tags"],
            external_id=single.get("external_id"),
            birthday=self._birthday(single.get("birthday")),
            city=single.get("city"),
            address=single.get("address"),
            owner=single.get("owner"),
            consent_sms=bool(sms),
            consent_email=bool(mail),
            attributes=attributes,
            today=self.today,
        )
        given = frozenset(single)
        if (sms is None and "consent_sms" in given) or (mail is None and "consent_email" in given):
            # a consent cell saying neither yes nor no gives nothing
            given -= {f for f, v in (("consent_sms", sms), ("consent_email", mail)) if v is None}
        return RowData(prepared, given)

    def _birthday(self, raw: str | None) -> date | None:
        if not raw:
            return None
        found = self._dates.get(raw)
        if found is None:
            found = parse_date(raw, field="birthday")
            if len(self._dates) < 50_000:
                self._dates[raw] = found
        return found
