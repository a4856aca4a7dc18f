"""``crm loyalty …``: balances, history, earning and adjusting, redemption, rewards, vouchers, the program,
simulation and the ledger check. CUSTOMER is an id, external id, phone or email."""

from __future__ import annotations

from pathlib import Path

import click

from crmcore.api import echo_json, get_app


def _date(app, moment) -> str:
    from crmcore.api import Formatter

    return Formatter.for_app(app).moment(moment)


def _day(app, day) -> str:
    from crmcore.api import Formatter

    return Formatter.for_app(app).date(day)


def _money_formatter(app, uow):
    """The CLI reader's formatter with the business's rial/toman choice: amounts in major units."""
    from crmcore.api import Formatter, money_unit_of

    return Formatter.for_app(app, money_unit=money_unit_of(uow))


@click.group()
def loyalty():
    """Customer club points, rewards and vouchers (باشگاه مشتریان)."""


# -- program -----------------------------------------------------------------------------------------------
@loyalty.group()
def program():
    """Load, check and show the program file (rules, rewards, expiry, policies)."""


@program.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", "check_only", is_flag=True, help="Only validate the file; store nothing.")
def program_load(file, check_only):
    """Validate FILE (TOML) and store it as the next program version, which becomes active."""
    from .programs import check_program_text, load_program

    text = Path(file).read_text(encoding="utf-8")
    app = get_app()
    with app.unit_of_work() as uow:
        if check_only:
            p = check_program_text(uow, text)
            click.echo(
                f"{file}: valid ({len(p.rules)} rules, {len(p.rewards)} rewards); nothing stored"
            )
            return
        p, created = load_program(uow, text, source_name=Path(file).name)
    click.echo(
        f"program {p.name!r} loaded as version {p.version}"
        if created
        else f"program version {p.version} already has this content; nothing changed"
    )


@program.command("show")
@click.option("--version", "version", type=int, help="A stored version (default: the active one).")
@click.option("--source", is_flag=True, help="Print the TOML text as loaded.")
@click.option("--json", "as_json", is_flag=True)
def program_show(version, source, as_json):
    """Show the active program (or --version N)."""
    from sqlalchemy import select

    from .actions import rule_text
    from .models import LoyaltyProgram
    from .programs import active_program, program_to_dict, program_version

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        p = program_version(uow, version) if version else active_program(uow)
        if p.version is None:
            raise click.ClickException("no program is loaded; run: crm loyalty program load FILE")
        row = uow.session.scalar(select(LoyaltyProgram).where(LoyaltyProgram.version == p.version))
        data = program_to_dict(p) | {
            "loaded_at": row.loaded_at.isoformat(),
            "loaded_by": row.loaded_by,
            "source_name": row.source_name,
            "sha256": row.sha256,
        }
        text = row.source
        loaded = _date(app, row.loaded_at)
        fmt = _money_formatter(app, uow)
    if as_json:
        echo_json(data | ({"source": text} if source else {}))
        return
    if source:
        click.echo(text, nl=False)
        return
    click.echo(
        f"{data['name']} — version {data['version']} (loaded {loaded} by {data['loaded_by']})"
    )
    click.echo(
        f"  currency {data['currency']}, calendar {data['calendar']}, spend order {data['spend_order']}, "
        f"negative balance: {data['negative_balance']}, expiry: {data['expiry']}"
    )
    caps = data["caps"]
    if caps["per_purchase"] or caps["per_period"]:
        click.echo(
            f"  caps: per purchase {caps['per_purchase'] or '-'}, "
            f"per {caps['period']} {caps['per_period'] or '-'}"
        )
    for r in p.rules:
        when = f" ({_day(app, r.starts)} to {_day(app, r.ends)})" if r.starts or r.ends else ""
        click.echo(
            f"  rule {r.name}: {r.kind}, {rule_text(r, p, fmt)}, priority {r.priority}, "
            f"{r.stacking}{when}"
        )
    for w in p.rewards.values():
        click.echo(f"  reward {w.code}: {w.title_fa or w.title} ({w.kind}), {w.cost} points")
    for name in data["sections"]:
        click.echo(f"  section [{name}]")


@program.command("versions")
@click.option("--json", "as_json", is_flag=True)
def program_versions_cmd(as_json):
    """List the stored program versions."""
    from .programs import program_versions

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [
            {
                "version": r.version,
                "name": r.name,
                "source_name": r.source_name,
                "sha256": r.sha256,
                "loaded_at": r.loaded_at.isoformat(),
                "loaded_by": r.loaded_by,
                "_at": r.loaded_at,
            }
            for r in program_versions(uow)
        ]
    if as_json:
        echo_json([{k: v for k, v in r.items() if k != "_at"} for r in rows])
        return
    for r in rows:
        click.echo(
            f"{r['version']:>4}  {_date(app, r['_at'])}  {r['loaded_by']}  {r['name']}  "
            f"{r['source_name'] or ''}"
        )


# -- balances and history ----------------------------------------------------------------------------------
@loyalty.command()
@click.argument("customer")
@click.option("--lots", "all_lots", is_flag=True, help="List every open lot with its expiry.")
@click.option("--json", "as_json", is_flag=True)
def balance(customer, all_lots, as_json):
    """A member's balance, what expires next (--lots: every open lot)."""
    from crmcore.api import resolve_customer

    from .ledger import lots
    from .summary import balance_data, expiry_summary

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        open_lots = lots(uow, c.id)
        data = balance_data(uow, c)
        shown = [
            (lot.remaining, _date(app, lot.expires_at) if lot.expires_at else "never")
            for lot in open_lots
        ]
        summary = expiry_summary(open_lots, tz=app.timezone)
        days = [(_day(app, s.day) if s.day else "never", s.points, s.lots) for s in summary.first]
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['name']} (#{data['customer_id']}): {data['balance']:,} points")
    if data["owed"]:
        click.echo(f"  {data['owed']:,} points owed from refunds (taken from the next earnings)")
    if all_lots:
        for remaining, expires in shown:
            click.echo(f"  {remaining:>8,}  expires {expires}")
        return
    for day, points, count in days:
        lots_text = f" ({count:,} lots)" if count > 1 else ""
        click.echo(
            f"  {points:>8,}  expire{'s' if points == 1 else ''} {day}{lots_text}"
            if day != "never"
            else f"  {points:>8,}  never expire{lots_text}"
        )
    if summary.rest_lots:
        click.echo(
            f"  {summary.rest_points:>8,}  later, in {summary.rest_lots:,} more lots "
            f"(--lots lists them all)"
        )


@loyalty.command()
@click.argument("customer")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def history(customer, limit, as_json):
    """A member's ledger, newest first."""
    from crmcore.api import resolve_customer

    from .ledger import entry_to_dict, ledger

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        entries = ledger(uow, c.id, limit=limit, newest_first=True)
        rows = [entry_to_dict(e) for e in entries]
        shown = [
            (e.seq, _date(app, e.occurred_at), e.kind, e.points, e.balance_after, e.reason)
            for e in entries
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"customer {c.id} has no loyalty entries")
    for seq, at, kind, points, after, reason in shown:
        click.echo(f"{seq:>5}  {at}  {kind:<12} {points:>+9,}  = {after:>9,}  {reason}")


# -- writes ------------------------------------------------------------------------------------------------
def _expiry_option(app, value):
    if value is None:
        from .ledger import PROGRAM_EXPIRY

        return PROGRAM_EXPIRY
    if value == "never":
        return None
    from crmcore.api import parse_datetime

    return parse_datetime(value, tz=app.timezone, field="expires")


@loyalty.command(context_settings={"ignore_unknown_options": True})  # "-50" is refused clearly
@click.argument("customer")
@click.argument("points")
@click.option("--reason", required=True, help="Why (shown in the history).")
@click.option("--key", help="Idempotency key: the same key never earns twice.")
@click.option(
    "--expires", help="Expiry date (Jalali or Gregorian) or 'never' (default: the program's rule)."
)
@click.option("--json", "as_json", is_flag=True)
def earn(customer, points, reason, key, expires, as_json):
    """Give POINTS to a member (a goodwill gesture, a campaign); to remove points use adjust."""
    from crmcore.api import resolve_customer

    from .actions import earn_points, parse_points
    from .ledger import entry_to_dict

    app = get_app()
    amount = parse_points(points)
    with app.unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        e = earn_points(
            uow, c.id, amount, reason=reason, key=key, expires_at=_expiry_option(app, expires)
        )
        out = entry_to_dict(e)
    echo_json(out) if as_json else click.echo(
        f"{out['points']:+,} points; balance {out['balance_after']:,}"
    )


@loyalty.command(context_settings={"ignore_unknown_options": True})
@click.argument("customer")
@click.argument("points")
@click.option("--reason", required=True, help="Why (required: adjustments are audited).")
@click.option("--key", help="Idempotency key.")
@click.option("--json", "as_json", is_flag=True)
def adjust(customer, points, reason, key, as_json):
    """Correct a balance by POINTS (negative to remove; never below zero)."""
    from crmcore.api import resolve_customer

    from .actions import adjust_points, parse_points
    from .ledger import entry_to_dict

    amount = parse_points(points)
    app = get_app()
    with app.unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        out = entry_to_dict(adjust_points(uow, c.id, amount, reason=reason, key=key))
    echo_json(out) if as_json else click.echo(
        f"{out['points']:+,} points; balance {out['balance_after']:,}"
    )


@loyalty.command()
@click.argument("customer")
@click.argument("reward")
@click.option(
    "--points", type=int, help="For a pay-with-points reward: how many points to pay with."
)
@click.option("--key", help="Idempotency key: the same key never redeems twice.")
@click.option("--json", "as_json", is_flag=True)
def redeem(customer, reward, points, key, as_json):
    """Redeem REWARD (its code) for a member; prints the voucher code."""
    from crmcore.api import resolve_customer

    from .ledger import balance as get_balance
    from .rewards import redeem_reward, redemption_to_dict, voucher_of, voucher_to_dict

    app = get_app()
    with app.unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        r = redeem_reward(uow, c.id, reward, points=points, key=key)
        v = voucher_of(uow, r)
        out = redemption_to_dict(r, v) | {
            "voucher": voucher_to_dict(v) if v else None,
            "balance": get_balance(uow, c.id),
        }
    if as_json:
        echo_json(out)
    else:
        until = f", valid until {_date(app, v.valid_until)}" if v and v.valid_until else ""
        click.echo(
            f"voucher {v.code} for {reward} ({r.points:,} points{until}); balance {out['balance']:,}"
        )


@loyalty.command()
@click.argument("customer")
@click.option(
    "--amount", required=True, help="Purchase amount in the program's currency (e.g. 1500000)."
)
@click.option("--sku", "skus", multiple=True, help="SKU[=AMOUNT] of a line (repeatable).")
@click.option(
    "--category", "categories", multiple=True, help="CATEGORY[=AMOUNT] of a line (repeatable)."
)
@click.option("--at", "at", help="When (Jalali or Gregorian; default now).")
@click.option("--json", "as_json", is_flag=True)
def simulate(customer, amount, skus, categories, at, as_json):
    """Show which rules would fire for a purchase, and why — without writing anything."""
    from crmcore.api import Money, parse_datetime, resolve_customer

    from .simulate import simulate as run

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        when = parse_datetime(at, tz=app.timezone, field="at") if at else None
        out = run(uow, c, amount=amount, skus=list(skus), categories=list(categories), at=when)
        fmt = _money_formatter(app, uow)
    if as_json:
        echo_json(out)
        return

    def money(minor) -> str:
        return fmt.money(Money(int(minor), out["currency"]))

    click.echo(
        f"a purchase of {money(out['amount'])} would earn {out['points']:,} points "
        f"(program version {out['program_version']})"
    )
    for f in out["rules"]:
        mark = "✓" if f["fired"] else "·"
        pts = f" {f['points']:+,}" if f["points"] else ""
        click.echo(f"  {mark} {f['rule']} ({f['kind']}){pts}: {f['why']}")
    for t in out["thresholds"]:
        click.echo(
            f"  threshold {t['rule']}: {t['rewards_granted']} × {t['reward']}, then "
            f"{money(t['progress_after'])} of {money(t['every'])}"
        )
    if out["clawed_back"]:
        click.echo(f"  {out['clawed_back']:,} of them would pay back points owed from a refund")
    click.echo(f"  balance {out['balance_before']:,} → {out['balance_after']:,}")


@loyalty.command()
@click.option("--since", help="Only purchases from this date (Jalali or Gregorian).")
def accrue(since):
    """Earn points for stored purchases that have none yet (history from before the program, or imported
    while loyalty was disabled), in time order; purchases already accrued are skipped."""
    from crmcore.api import parse_datetime

    from .batch import accrue_unaccrued

    app = get_app()
    with app.unit_of_work() as uow:
        n = accrue_unaccrued(
            uow, since=parse_datetime(since, tz=app.timezone, field="since") if since else None
        )
    click.echo(f"{n:,} purchases accrued")


@loyalty.command()
@click.option("--json", "as_json", is_flag=True)
def check(as_json):
    """Prove every cached balance equals its ledger and every member's hash chain is intact (exit 1 if not)."""
    from .check import check_ledger, problem_lines

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        result = check_ledger(uow)
    if as_json:
        echo_json(result)
    else:
        for line in problem_lines(result):
            click.echo(line, err=True)
        click.echo(
            f"{result['members']} members, {result['entries']} entries: "
            + (
                "ledger and balances agree, chains intact"
                if not result["problems"]
                else f"{len(result['problems'])} problem(s)"
            )
        )
    if result["problems"]:
        raise SystemExit(1)


# -- rewards and vouchers ----------------------------------------------------------------------------------
@loyalty.group()
def rewards():
    """The rewards catalogue of the active program."""


@rewards.command("list")
@click.option("--json", "as_json", is_flag=True)
def rewards_list(as_json):
    """List the rewards (cost, kind, validity, limits)."""
    from .programs import active_program, program_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        items = program_to_dict(active_program(uow))["rewards"]
    if as_json:
        echo_json(items)
        return
    if not items:
        click.echo("no rewards: load a program with [[rewards]]")
    for w in items:
        limits = ", ".join(
            x
            for x in (
                f"{w['per_customer_limit']} per member" if w["per_customer_limit"] else "",
                f"{w['global_limit']} in all" if w["global_limit"] else "",
            )
            if x
        )
        click.echo(
            f"{w['code']:<14} {w['cost']:>7,} points  {w['kind']:<16} {w['title_fa'] or w['title']}"
            + (f"  ({limits})" if limits else "")
        )


@loyalty.group()
def vouchers():
    """Vouchers issued by redemptions: list, show, use."""


@vouchers.command("list")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def vouchers_list(customer, as_json):
    """A member's vouchers, newest first."""
    from crmcore.api import resolve_customer

    from .rewards import customer_vouchers, voucher_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        found = customer_vouchers(uow, c.id)
        rows = [voucher_to_dict(v, uow.now()) for v in found]
        shown = [
            (v.code, v.reward_code, _date(app, v.valid_until) if v.valid_until else "-")
            for v in found
        ]
    if as_json:
        echo_json(rows)
        return
    for row, (code, reward, until) in zip(rows, shown):
        click.echo(f"{code}  {reward:<14} {row['status']:<8} valid until {until}")


@vouchers.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
def vouchers_show(code, as_json):
    """One voucher by its code."""
    from crmcore.api import Money

    from .rewards import get_voucher, voucher_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        v = get_voucher(uow, code)
        out = voucher_to_dict(v, uow.now())
        fmt = _money_formatter(app, uow)
        value = (
            f"{v.percent}% off"
            if v.percent is not None
            else fmt.money(Money(v.amount_minor, v.currency)) + " off"
            if v.amount_minor is not None
            else f"item {v.sku}"
            if v.sku
            else v.kind
        )
        when = {
            k: _date(app, getattr(v, k)) if getattr(v, k) else None
            for k in ("issued_at", "valid_until", "used_at")
        }
    if as_json:
        echo_json(out)
        return
    click.echo(
        f"{out['code']}: {out['reward']} ({value}) for customer {out['customer_id']}, "
        f"{out['status']}"
    )
    click.echo(
        f"  issued {when['issued_at']}"
        + (f", valid until {when['valid_until']}" if when["valid_until"] else "")
        + (f", used {when['used_at']}" if when["used_at"] else "")
        + (f" on purchase {out['used_purchase']}" if out["used_purchase"] else "")
    )


@vouchers.command("use")
@click.argument("code")
@click.option(
    "--customer", help="The member presenting it (refused if the voucher is someone else's)."
)
@click.option("--purchase", "purchase_id", type=int, help="The purchase it was used on.")
def vouchers_use(code, customer, purchase_id):
    """Mark voucher CODE used (once, before it expires)."""
    from crmcore.api import resolve_customer

    from .rewards import use_voucher

    app = get_app()
    with app.unit_of_work() as uow:
        cid = resolve_customer(uow.session, customer).id if customer else None
        v = use_voucher(uow, code, customer_id=cid, interaction_id=purchase_id)
        click.echo(f"voucher {v.code} used")
