"""The report registry: the kernel's reports and those plugins add through ``crm_reports``.

Every report returns the same JSON shape: ``{"report": NAME, "columns": [...], "rows": [[...], ...],
"totals": {...}}``. Amounts are exact decimal strings.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

import attrs

from ..errors import NotFound, ValidationError

PERIODS = ("day", "week", "month", "jalali_month", "year", "jalali_year")


@attrs.frozen
class ReportParams:
    """What ``crm reports run`` passes: a half-open local-date range [start, end], calendar, period, zone."""

    start: date | None = None
    end: date | None = None  # inclusive
    calendar: str = "gregorian"
    period: str = "month"
    timezone: str = "Asia/Tehran"
    options: dict[str, str] = attrs.field(factory=dict)

    def utc_bounds(self) -> tuple[datetime | None, datetime | None]:
        """UTC moments of local midnight at ``start`` and local midnight after ``end``."""
        zone = ZoneInfo(self.timezone)
        lo = (
            datetime.combine(self.start, time(0), zone).astimezone(ZoneInfo("UTC"))
            if self.start
            else None
        )
        hi = (
            datetime.combine(self.end + timedelta(days=1), time(0), zone).astimezone(
                ZoneInfo("UTC")
            )
            if self.end
            else None
        )
        return lo, hi

    def period_key(self, moment: datetime | date) -> str:
        """The label of the period ``moment`` falls in, in the report's zone and calendar."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(ZoneInfo(self.timezone)).date()
        return period_key(moment, self.period, self.calendar)

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)


def period_key(day: date, period: str, calendar: str = "gregorian") -> str:
    if period == "day":
        from ..domain.dates import format_date

        return format_date(day, calendar)
    if period == "week":
        from ..domain.dates import format_date

        # Iranian weeks start on Saturday; ISO weeks on Monday
        offset = (day.weekday() - 5) % 7 if calendar == "jalali" else day.weekday()
        return format_date(day - timedelta(days=offset), calendar)
    if period == "month":
        if calendar == "jalali":
            period = "jalali_month"
        else:
            return f"{day.year:04d}-{day.month:02d}"
    if period == "jalali_month":
        from ..domain.dates import jalali_month_key

        return jalali_month_key(day)
    if period == "year":
        if calendar == "jalali":
            period = "jalali_year"
        else:
            return f"{day.year:04d}"
    if period == "jalali_year":
        from ..domain.dates import jalali_month_key

        return jalali_month_key(day)[:4]
    raise ValidationError(f"unknown period {period!r} ({', '.join(PERIODS)})", field="period")


@attrs.frozen
class ReportResult:
    columns: list[str]
    rows: list[list[Any]]
    totals: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self, name: str) -> dict[str, Any]:
        return {
            "report": name,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "totals": dict(self.totals),
        }


@attrs.frozen
class Report:
    name: str
    title: str
    description: str
    run: Callable[[Any, ReportParams], ReportResult]
    title_fa: str | None = None
    #: the column holding each row's customer id, for reports with a row per customer (or per
    #: record of one): rows of customers the reader may not read (record rules,
    #: :mod:`crmcore.services.access`) are left out wherever the report is shown or downloaded.
    #: Such a report should also narrow its own query with ``customer_clause(uow, "read")`` so
    #: that its totals count only what the reader may see; when the kernel had to leave rows out,
    #: it drops the totals rather than show figures made from hidden rows.
    customer_column: str | None = None


def report_registry(uow) -> dict[str, Report]:
    registry: dict[str, Report] = {}
    for group in uow.call("crm_reports"):
        for report in group or ():
            if report.name in registry:
                raise ValidationError(f"two plugins define the report {report.name!r}")
            registry[report.name] = report
    return dict(sorted(registry.items()))


def run_report(
    uow, name: str, params: ReportParams, *, registry: dict[str, Report] | None = None
) -> dict[str, Any]:
    """Run a report (``crm reports run``); ``registry`` from :func:`report_registry` when running
    several."""
    registry = registry if registry is not None else report_registry(uow)
    report = registry.get(name)
    if report is None:
        raise NotFound(
            f"unknown report {name!r} (available: {', '.join(registry)})", field="report"
        )
    if params.period not in PERIODS:
        raise ValidationError(
            f"unknown period {params.period!r} ({', '.join(PERIODS)})", field="period"
        )
    if params.calendar not in ("gregorian", "jalali"):
        raise ValidationError(
            f"unknown calendar {params.calendar!r} (gregorian or jalali)", field="calendar"
        )
    if params.start and params.end and params.start > params.end:
        raise ValidationError("--from is after --to", field="from")
    result = report.run(uow, params).to_json(name)
    if report.customer_column:
        restrict_rows(uow, result, report.customer_column)
    return result


def restrict_rows(uow, result: dict[str, Any], column: str) -> None:
    """Leave out of ``result`` the rows whose customer (in ``column``) the unit of work's viewer
    may not read; a result that lost rows loses its totals too (they counted them)."""
    from sqlalchemy import select

    from ..services.access import customer_clause
    from ..storage.models import Customer

    clause = customer_clause(uow, "read")
    if clause is None or column not in result["columns"]:
        return
    at = result["columns"].index(column)
    ids = {row[at] for row in result["rows"] if isinstance(row[at], int)}
    readable: set[int] = set()
    chunk = sorted(ids)
    for i in range(0, len(chunk), 500):
        readable.update(
            uow.session.scalars(
                select(Customer.id).where(Customer.id.in_(chunk[i : i + 500]), clause)
            )
        )
    kept = [row for row in result["rows"] if row[at] in readable]
    if len(kept) != len(result["rows"]):
        result["rows"] = kept
        result["totals"] = {}


def write_csv(fh, result: dict[str, Any], *, totals: bool = True, raw: bool = False) -> None:
    """A report's columns, rows and (after a blank row) totals as CSV on ``fh``, every cell through
    :func:`crmcore.domain.spreadsheet.safe_row` (``raw``: unchanged, for programs)."""
    import csv

    from ..domain.spreadsheet import safe_row

    writer = csv.writer(fh)
    writer.writerow(safe_row(result["columns"], raw=raw))
    for row in result["rows"]:
        writer.writerow(safe_row(["" if v is None else v for v in row], raw=raw))
    if totals and result.get("totals"):
        writer.writerow([])
        for key, value in result["totals"].items():
            writer.writerow(safe_row([key, value], raw=raw))
