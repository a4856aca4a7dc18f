"""``crm referrals …``: codes, attaching friends, a member's network, the program rules, a simulator.
CUSTOMER arguments take an id, external id, phone or email; codes may be typed with Persian digits."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app


def _when(app, iso: str | None) -> str:
    from datetime import datetime

    from crmcore.api import format_datetime

    return (
        format_datetime(datetime.fromisoformat(iso), app.calendar, tz=app.timezone) if iso else "—"
    )


STATUS = {
    "pending": "waiting for a qualifying purchase",
    "qualified": "qualified",
    "reversed": "reversed by a refund",
}


@click.group()
def referrals():
    """Customer networking (معرفی دوستان): members bring members."""


@referrals.command()
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def code(customer, as_json):
    """CUSTOMER's referral code and the text they can share."""
    from crmcore.api import resolve_customer

    from . import program, service

    with get_app().unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        text = service.share_text(uow, c, program.active(uow))
        data = {
            "customer_id": c.id,
            "name": c.display_name,
            "code": service.code_of(uow, c.id),
            "share_text": text,
        }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['name']} (#{c.id}): {data['code']}")
    click.echo(text)


@referrals.command()
@click.argument("friend")
@click.argument("referral_code", metavar="CODE")
@click.option(
    "--check", is_flag=True, help="Run the checks and say what would happen; store nothing."
)
@click.option("--json", "as_json", is_flag=True)
def attach(friend, referral_code, check, as_json):
    """Attach FRIEND (a new customer) to the member whose code is CODE."""
    from crmcore.api import resolve_customer

    from . import service

    app = get_app()
    with app.unit_of_work(readonly=check) as uow:
        f = resolve_customer(uow.session, friend)
        referral = service.attach(uow, f, referral_code, source="staff", check_only=check)
        data = (
            {"ok": True, "stored": False, "friend_id": f.id}
            if check
            else service.referral_to_dict(referral)
        )
        referrer = service.referrer_of_code(uow, referral_code)
        name, rname = f.display_name, referrer.display_name
    if as_json:
        echo_json(data)
    elif check:
        click.echo(f"{name} can be attached to {rname} (nothing stored: --check)")
    else:
        click.echo(
            f"{name} (#{f.id}) is now referred by {rname} (#{referrer.id}); referral #{data['id']}"
        )


@referrals.command()
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def show(customer, as_json):
    """CUSTOMER's code, who brought them, the friends they brought and their rewards."""
    from crmcore.api import resolve_customer

    from . import service

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        data = service.summary(uow, c.id)
        data["name"] = c.display_name
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['name']} (#{c.id})  code {data['code']}")
    ref = data["referral"]
    if ref:
        click.echo(
            f"  referred by #{ref['referrer_id']} on {_when(app, ref['attached_at'])}"
            f" — {STATUS[ref['status']]}"
        )
    else:
        click.echo("  not referred by anyone")
    click.echo(
        f"  friends brought: {data['friends']:,} ({data['friends_qualified']:,} qualified, "
        f"{data['friends_pending']:,} waiting)"
    )
    click.echo(
        f"  referral points earned: {data['points_earned']:,}"
        + (f"  ({data['rewards_capped']:,} capped)" if data["rewards_capped"] else "")
        + (f"  ({data['rewards_reversed']:,} reversed)" if data["rewards_reversed"] else "")
    )


@referrals.command("list")
@click.option("--referrer", help="Only the friends this member brought.")
@click.option("--status", type=click.Choice(["pending", "qualified", "reversed"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_(referrer, status, limit, as_json):
    """Referrals, newest first."""
    from crmcore.api import resolve_customer

    from . import service

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rid = resolve_customer(uow.session, referrer).id if referrer else None
        rows, total = service.list_referrals(uow, referrer_id=rid, status=status, limit=limit)
    if as_json:
        echo_json({"referrals": rows, "total": total, "shown": len(rows)})
        return
    if not rows:
        click.echo("no referrals")
        return
    for r in rows:
        click.echo(
            f"#{r['id']:<5} {r['friend_name'][:22]:<22} ← {r['referrer_name'][:18]:<18} "
            f"{r['status']:<9} {_when(app, r['attached_at'])}"
        )
    if total > len(rows):
        click.echo(f"… {len(rows):,} of {total:,} shown (--limit)")


@referrals.command()
@click.argument("customer")
@click.option("--depth", type=click.IntRange(1, 3), default=3, show_default=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def network(customer, depth, limit, as_json):
    """Who CUSTOMER brought, and whom those brought, to DEPTH levels."""
    from crmcore.api import resolve_customer

    from . import service

    with get_app().unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        data = service.network(uow, c.id, depth=depth, limit=limit)
        data["name"] = c.display_name
    if as_json:
        echo_json(data)
        return
    people = "person" if data["total"] == 1 else "people"
    click.echo(f"{data['name']} (#{c.id}) brought {data['total']:,} {people} within {depth} levels")
    for lv in data["levels"]:
        click.echo(
            f"  level {lv['level']}: {lv['people']:,} ({lv['qualified']:,} qualified, "
            f"{lv['pending']:,} waiting, {lv['reversed']:,} reversed)"
        )
    for p in data["people"]:
        click.echo(
            f"  {'  ' * (p['level'] - 1)}#{p['customer_id']} {p['name'][:30]} "
            f"(level {p['level']}, {p['status']})"
        )
    if data["total"] > data["shown"]:
        click.echo(f"… {data['shown']:,} of {data['total']:,} people listed (--limit)")


@referrals.group()
def rules():
    """The referral program: who is rewarded, when, how much, and the limits."""


@rules.command("show")
@click.option("--json", "as_json", is_flag=True)
def rules_show(as_json):
    """The active program (version 0 until a program is loaded: track referrals, reward nothing)."""
    from . import program

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        prog = program.active(uow)
    if as_json:
        echo_json(prog.config())
        return
    for line in describe(prog):
        click.echo(line)


def describe(prog) -> list[str]:
    from crmcore.api import Money, format_money

    amount = format_money(Money(prog.min_amount_minor, prog.currency))
    when = (
        f"the friend's first purchase of at least {amount}"
        if prog.event == "first_purchase"
        else f"the friend's purchases reaching {amount} within {prog.within_days} days"
    )
    levels = ", ".join(f"level {i}: {p:,}" for i, p in enumerate(prog.referrer_points, 1))
    return [
        f"program version {prog.version}: {prog.name}",
        f"  qualifies on {when}",
        f"  referrer points ({prog.levels} level{'s' if prog.levels > 1 else ''}): {levels}",
        f"  friend points: {prog.friend_points:,}",
        "  monthly cap: "
        + (
            f"{prog.monthly_cap:,} rewarded friends per referrer per Jalali month"
            if prog.monthly_cap
            else "none"
        ),
        f"  staff may attach within {prog.attach_window_days} days of joining; at most "
        f"{prog.max_friends_per_device} friends per device",
    ]


@rules.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Validate only; store nothing.")
def rules_load(path, check):
    """Load PATH (TOML) as the next program version."""
    from pathlib import Path

    from . import program

    text = Path(path).read_text(encoding="utf-8")
    with get_app().unit_of_work(readonly=check) as uow:
        if check:
            prog, created = program.parse(text), False
        else:
            prog, created = program.load(uow, text, source_name=Path(path).name)
    if check:
        click.echo(f"{path}: valid")
    else:
        click.echo(
            f"program version {prog.version} loaded"
            if created
            else f"unchanged: version {prog.version} is this text"
        )


@referrals.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--amount",
    "amounts",
    multiple=True,
    required=True,
    help="A purchase of the friend, in order (repeat for several).",
)
@click.option(
    "--chain",
    "chain_length",
    type=click.IntRange(1, 3),
    default=1,
    show_default=True,
    help="How many referrers stand above the friend.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A program file to try instead of the active program.",
)
@click.option("--json", "as_json", is_flag=True)
def simulate(amounts, chain_length, rules_path, as_json):
    """What a referred friend's purchases would earn, without storing anything."""
    from pathlib import Path

    from crmcore.api import parse_money

    from . import program, service

    with get_app().unit_of_work(readonly=True) as uow:
        prog = (
            program.parse(Path(rules_path).read_text(encoding="utf-8"))
            if rules_path
            else program.active(uow)
        )
    minors = []
    for raw in amounts:
        money = parse_money(raw, prog.currency, field="amount")
        if money.minor < 0:
            from crmcore.api import ValidationError

            raise ValidationError(f"{raw!r}: a purchase amount cannot be negative", field="amount")
        minors.append(money.minor)
    result = service.simulate(prog, minors, chain_length=chain_length)
    if as_json:
        echo_json(result)
        return
    if not result["qualifies"]:
        click.echo(
            f"no reward: these purchases do not qualify under program version {prog.version}"
        )
        return
    click.echo(f"purchase {result['purchase']} qualifies; rewards:")
    for r in result["rewards"]:
        who = "the friend" if r["role"] == "friend" else f"referrer at level {r['level']}"
        click.echo(f"  {who}: {r['points']:,} points")
