"""Reports on the web: run one with the page's or the API's parameters, and write its rows as CSV."""

from __future__ import annotations

import io
from typing import Any

from ..domain.dates import parse_date
from ..errors import ValidationError
from ..reports import ReportParams, report_registry, run_report, write_csv


def parse_options(items: list[str]) -> dict[str, str]:
    """Report-specific options given as ``NAME=VALUE`` (``?option=tier=gold``), as ``--option`` in the CLI."""
    options: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"{item!r} is not NAME=VALUE", field="option")
        options[name.strip()] = value.strip()
    return options


def params_from(
    start: str | None,
    end: str | None,
    period: str,
    calendar: str,
    timezone: str,
    options: list[str] = (),
) -> ReportParams:
    return ReportParams(
        start=parse_date(start, field="from") if start else None,
        end=parse_date(end, field="to") if end else None,
        calendar=calendar,
        period=period,
        timezone=timezone,
        options=parse_options(list(options)),
    )


def run_named(
    web,
    user,
    name: str,
    start: str | None,
    end: str | None,
    period: str,
    calendar: str,
    options: list[str] = (),
) -> dict[str, Any]:
    params = params_from(start, end, period, calendar, web.crm.timezone, options)
    with web.unit(user, readonly=True) as uow:
        return run_report(uow, name, params)


def report_titles(web, user) -> dict[str, Any]:
    with web.unit(user, readonly=True) as uow:
        return report_registry(uow)


def to_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    write_csv(out, result)
    return "\ufeff" + out.getvalue()  # BOM: spreadsheet programs then read Persian text as UTF-8
