"""``crm tiers …``: the ladder, a member's tier and history, evaluation, members at risk of a downgrade.
CUSTOMER is an id, external id, phone or email. Dates are read and shown in the calendar of ``crm --calendar``."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app, output


def _day(app, value) -> str:
    from crmcore.api import Formatter

    return Formatter.for_app(app).date(value)


def _moment(app, value) -> str:
    from crmcore.api import Formatter

    return Formatter.for_app(app).moment(value)


@click.group()
def tiers():
    """Membership tiers (سطح‌های عضویت): Red → Silver → Gold.

    \b
    The ladder is the [[tiers]] section of the loyalty program file.
    Upgrades happen when a purchase crosses a threshold (the new earning
    multiplier applies from the next purchase); downgrades only when tiers
    are evaluated (`crm jobs run` or `crm tiers evaluate`), after any grace.
    """


@tiers.command()
@click.option("--json", "as_json", is_flag=True)
def ladder(as_json):
    """Show the tier ladder of the active loyalty program."""
    from .service import currency_of, require_ladder
    from .texts import criterion_text

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        lad = require_ladder(uow)
        currency = currency_of(uow)
    lines = []
    for t in lad.tiers:
        title = f"{t.title} ({t.title_fa})" if t.title_fa else t.title
        if t.is_base:
            rule = "where every member starts"
        else:
            parts = [criterion_text(c.metric, c.minor(currency), currency) for c in t.criteria]
            rule = f"{' or '.join(parts)} in {t.window.describe()}"
            if t.grace_days:
                rule += f"; grace {t.grace_days} days"
            if t.rollover:
                rule += "; surplus rolls over"
        perks = f"; perks: {', '.join(t.perks)}" if t.perks else ""
        discount = f", {t.discount_percent}% off" if t.discount_percent else ""
        lines.append(
            f"{t.rank:>3}  {t.name:<10} {title}: {rule}; earns ×{t.multiplier}{discount}{perks}"
        )
    output(
        {"currency": currency, "tiers": [t.to_dict() for t in lad.tiers]},
        as_json,
        text=lambda _data, _fmt: lines,
    )


@tiers.command()
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def show(customer, as_json):
    """The member's tier, benefits, progress to the next tier and when the tier is re-evaluated."""
    from crmcore.api import resolve_customer

    from .profile import profile_section

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        from .service import require_ladder

        require_ladder(uow)
        data = {"customer_id": c.id, "name": c.display_name, **profile_section(uow, c).data}
    if as_json:
        echo_json(data)
        return
    title = f"{data['title']} ({data['title_fa']})" if data["title_fa"] else data["title"]
    b = data["benefits"]
    click.echo(
        f"#{c.id} {data['name']}: {title}"
        + (
            f" since {_moment(app, _parse(data['since']))}"
            if data["since"]
            else " (not yet a member)"
        )
    )
    click.echo(
        f"  earns ×{b['multiplier']}, {b['discount_percent']}% off"
        + (f", perks: {', '.join(b['perks'])}" if b["perks"] else "")
    )
    if data["next_tier"]:
        click.echo(f"  {data['next_tier']['text']}")
    if data["downgrade_on"]:
        state = (
            "in grace until"
            if data["in_grace"]
            else "keeps the tier unless it lapses; downgrade on"
        )
        click.echo(f"  {state} {_day(app, _parse_day(data['downgrade_on']))}")


def _parse(text):
    from datetime import datetime

    return datetime.fromisoformat(text) if text else None


def _parse_day(text):
    from datetime import date

    return date.fromisoformat(text) if text else None


@tiers.command()
@click.argument("customer")
@click.option("--limit", type=int, help="Only the newest N changes.")
@click.option("--json", "as_json", is_flag=True)
def history(customer, limit, as_json):
    """Every tier change of the member (joining, ups and downs) with reason and date, oldest first."""
    from crmcore.api import resolve_customer

    from .service import change_to_dict
    from .service import history as changes

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        rows = changes(uow, c.id, limit=limit, newest_first=bool(limit))
        if limit:
            rows.reverse()
        out = [change_to_dict(ch) for ch in rows]
    lines = [] if out else [f"#{c.id} has no tier history yet"]
    for ch, row in zip(out, rows):
        if ch["direction"] == "join":
            lines.append(f"{_moment(app, row.occurred_at)}  join  {ch['new_tier']}")
        else:
            lines.append(
                f"{_moment(app, row.occurred_at)}  {ch['direction']:<5} "
                f"{ch['old_tier']} → {ch['new_tier']}: {ch['reason']}"
            )
    output(out, as_json, text=lambda _data, _fmt: lines)


@tiers.command()
@click.option(
    "--as-of",
    "as_of",
    help="The day to evaluate (Jalali or Gregorian; default today). Not in the future, "
    "not before the last evaluation.",
)
@click.option(
    "--include-base",
    is_flag=True,
    help="Also check base-tier members for an upgrade (after a ladder "
    "change lowered the thresholds).",
)
@click.option("--json", "as_json", is_flag=True)
def evaluate(as_of, include_base, as_json):
    """Downgrade members who no longer qualify (after any grace period) and warn those about to lapse."""
    from crmcore.api import parse_date

    from .evaluation import evaluate as run

    app = get_app()
    day = parse_date(as_of, field="as_of") if as_of else None
    with app.unit_of_work() as uow:
        summary = run(uow, day, include_base=include_base)
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"tiers evaluated as of {_day(app, _parse_day(summary['as_of']))}: {summary['members']} members above "
        f"the base tier; {summary['downgraded']} down, {summary['upgraded']} up, {summary['kept']} kept, "
        f"{summary['grace_started']} grace periods started, {summary['notices']} notices"
    )


@tiers.command("at-risk")
@click.option(
    "--within",
    "within",
    type=click.IntRange(min=0),
    help="Days ahead (default: each tier's notice_days).",
)
@click.option("--json", "as_json", is_flag=True)
def at_risk_cmd(within, as_json):
    """Members who will be downgraded soon unless they earn, spend or buy more."""
    from .evaluation import at_risk
    from .service import currency_of
    from .texts import amount_text

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = at_risk(uow, within)
        currency = currency_of(uow)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no member is at risk of a downgrade in that time")
    for r in rows:
        click.echo(
            f"#{r['customer_id']} {r['tier']}: will downgrade on {_day(app, _parse_day(r['downgrade_on']))} "
            f"unless {amount_text(r['metric'], r['needed'], currency)} more"
            + (" (in grace)" if r["in_grace"] else "")
        )
