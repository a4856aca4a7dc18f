"""Human output of the pipeline CLI (rich): the board, deal and lead tables, a deal's card."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def console():
    from crmcore.api import cli_console as kernel_console

    return kernel_console()


def money_text(amount: str | None, currency: str) -> str:
    """``12,500,000 IRR`` from the JSON form of an amount; ``—`` when there is none."""
    if amount is None:
        return "—"
    from crmcore.api import format_money, parse_money

    return format_money(parse_money(amount, currency)) if currency else str(Decimal(amount))


def day_text(iso: str | None, calendar: str) -> str:
    if not iso:
        return ""
    from datetime import date

    from crmcore.api import format_date

    return format_date(date.fromisoformat(iso), calendar)


def moment_text(iso: str | None, calendar: str) -> str:
    if not iso:
        return ""
    from datetime import datetime

    from crmcore.api import format_datetime

    return format_datetime(datetime.fromisoformat(iso), calendar)


def render_board(data: dict[str, Any], *, calendar: str, limit: int) -> None:
    """One column per open stage: its deals as short cards, count and (weighted) totals in the header."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{data['name']} ({data['pipeline']})", show_lines=True, expand=True)
    cells = []
    for col in data["columns"]:
        header = Text(f"{col['name']}\n", style="bold")
        header.append(f"{col['count']} deal(s) · {col['probability']}%")
        for cur, t in col["totals"].items():
            header.append(
                f"\n{money_text(t['amount'], cur)}\n≈ {money_text(t['weighted'], cur)}", style="dim"
            )
        table.add_column(header, vertical="top", overflow="fold")
        cell = Text()
        for i, d in enumerate(col["deals"][:limit]):
            if i:
                cell.append("\n\n")
            cell.append(f"#{d['id']} {d['title']}\n", style="bold")
            cell.append(f"{d['customer'] or ''}\n")
            cell.append(f"{money_text(d['amount'], d['currency'])} · {d['probability']}%")
            if d["owner"]:
                cell.append(f"\n@{d['owner']}", style="cyan")
            if d["expected_close"]:
                overdue = d.get("overdue")
                cell.append(
                    f"\nclose {day_text(d['expected_close'], calendar)}"
                    + (" (overdue)" if overdue else ""),
                    style="bold red" if overdue else "magenta",
                )
        hidden = len(col["deals"]) - limit
        if hidden > 0:
            cell.append(f"\n\n+{hidden} more", style="dim")
        cells.append(cell)
    if not data["columns"]:
        console().print("no open stages")
        return
    table.add_row(*cells)
    console().print(table)


def render_deals(items: list[dict[str, Any]], *, calendar: str) -> None:
    from rich.table import Table

    if not items:
        console().print("no deals")
        return
    table = Table(
        "id", "title", "customer", "stage", "status", "owner", "amount", "prob.", "expected close"
    )
    for d in items:
        table.add_row(
            str(d["id"]),
            d["title"],
            d["customer"] or "",
            d["stage"],
            d["status"],
            d["owner"] or "",
            money_text(d["amount"], d["currency"]),
            f"{d['probability']}%",
            day_text(d["expected_close"], calendar),
        )
    console().print(table)


def render_deal(d: dict[str, Any], *, calendar: str) -> None:
    lines = [
        f"deal {d['id']}: {d['title']}  [{d['status']}]",
        f"customer: {d['customer']} ({d['customer_id']})",
        f"pipeline: {d['pipeline']}, stage: {d['stage_name']} ({d['stage']}), probability {d['probability']}%"
        + (
            " (override)" if d["probability_override"] is not None and d["status"] == "open" else ""
        ),
        f"amount: {money_text(d['amount'], d['currency'])}, weighted {money_text(d['weighted_amount'], d['currency'])}",
        f"owner: {d['owner'] or '—'}, source: {d['source'] or '—'}",
        f"expected close: {day_text(d['expected_close'], calendar) or '—'}",
        f"next activity: {d['next_activity'] or '—'} {day_text(d['next_activity_on'], calendar)}".rstrip(),
    ]
    if d["status"] != "open":
        lines.append(
            f"closed: {moment_text(d['closed_at'], calendar)}, reason: {d['close_reason'] or '—'} "
            f"{d['close_note'] or ''}".rstrip()
        )
    for line in lines:
        console().print(line, markup=False, highlight=False)
    for h in d.get("history", []):
        console().print(
            f"  {h['at_local']}  {h['from'] or '·'} → {h['to']}  by {h['actor']}"
            + (f"  — {h['note']}" if h["note"] else ""),
            markup=False,
            highlight=False,
        )
