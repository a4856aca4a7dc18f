"""``crm lottery …``: campaigns, prizes, cards, entries, close (freeze + publish), draw, verify, winners, export."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crmcore.api import Label, cut_line, echo_json, get_app, json_option, output


@click.group()
def lottery():
    """Raffles (قرعه‌کشی): campaigns, entries, lottery cards, verifiable draws, winners."""


def _read_text(path: str, field: str) -> str:
    from crmcore.api import ValidationError

    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", field=field
        ) from None


def _write_text(path: str, text: str, field: str) -> None:
    from crmcore.api import ValidationError

    try:
        Path(path).write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror}", field=field) from None


def _warn(lines) -> None:
    for line in lines or ():
        click.echo(f"warning: {line}", err=True)


# -- campaigns ----------------------------------------------------------------------------------------------
@lottery.command("campaigns")
@click.option("--status", type=click.Choice(["open", "closed", "drawn"]))
@json_option
def campaigns_cmd(status, as_json):
    """List campaigns."""
    from .campaigns import campaign_to_dict, list_campaigns

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [
            campaign_to_dict(uow, c, calendar=app.calendar, tz=app.timezone)
            for c in list_campaigns(uow, status)
        ]
    output(
        rows,
        as_json,
        empty="no campaigns",
        columns=[
            ("name", Label("Campaign", "کمپین")),
            ("status", Label("Status", "وضعیت")),
            ("entries_from", Label("Entries from", "ورود از")),
            ("entries_until", Label("until", "تا")),
            ("draw_at", Label("Draw", "قرعه‌کشی")),
            ("participants", Label("Members", "اعضا"), "number"),
            ("entries", Label("Entries", "ورودی"), "number"),
            ("title", Label("Title", "عنوان")),
            ("title_fa", Label("Title (fa)", "عنوان فارسی")),
        ],
    )


@lottery.command("create")
@click.argument("name")
@click.option("--title", required=True, help="English title.")
@click.option("--title-fa", help="Persian title.")
@click.option(
    "--rules-file", type=click.Path(dir_okay=False), help="The official rules (text file, UTF-8)."
)
@click.option("--rules", "rules_text", help="The official rules as text.")
@click.option(
    "--period", help="Entry window: a year or month, Jalali (1403, 1403-07) or Gregorian (2025-03)."
)
@click.option("--from", "start", help="First day of entries (Jalali or Gregorian date).")
@click.option("--to", "end", help="Last day of entries (included).")
@click.option("--draw-at", help="Draw time (default: when entries close), e.g. '1404-01-15 18:00'.")
@click.option(
    "--per-purchase", type=int, default=0, show_default=True, help="Entries for every purchase."
)
@click.option("--per-amount", help="One entry per this amount spent in a purchase (1,000,000).")
@click.option("--currency", default="IRR", show_default=True)
@click.option(
    "--points-per-entry", type=int, help="Loyalty points one entry costs (needs loyalty)."
)
@click.option(
    "--where", "where", multiple=True, help="Segment clause every winner matches (city=تهران)."
)
@click.option("--min-tier", help="Lowest tier that may win (needs the tiers plugin).")
@click.option(
    "--staff-tag",
    "staff_tags",
    multiple=True,
    help="Tag marking staff, who cannot win (default staff).",
)
@click.option("--include-staff", is_flag=True, help="Let staff take part.")
@click.option(
    "--min-entries", type=int, default=1, show_default=True, help="Entries needed to qualify."
)
@click.option(
    "--several-prizes-per-person",
    is_flag=True,
    help="A member may win several prizes (one per entry); default one prize per person.",
)
@click.option(
    "--exclude-winners-of",
    type=int,
    default=0,
    show_default=True,
    metavar="N",
    help="Winners of the last N draws cannot win.",
)
@click.option(
    "--prize",
    "prizes",
    multiple=True,
    metavar="NAME=QTY[/STOCK]",
    help="A prize, grand prize first (repeat): 'سکه طلا=3' or 'Tablet=5/4'.",
)
@click.option("--json", "as_json", is_flag=True)
def create_cmd(
    name,
    title,
    title_fa,
    rules_file,
    rules_text,
    period,
    start,
    end,
    draw_at,
    per_purchase,
    per_amount,
    currency,
    points_per_entry,
    where,
    min_tier,
    staff_tags,
    include_staff,
    min_entries,
    several_prizes_per_person,
    exclude_winners_of,
    prizes,
    as_json,
):
    """Create campaign NAME with its official rules (recorded now, before any entry)."""
    from crmcore.api import ValidationError, parse_datetime

    from .campaigns import (
        DEFAULT_STAFF_TAGS,
        campaign_to_dict,
        create_campaign,
        entry_window,
        parse_prize,
    )

    if rules_file and rules_text:
        raise ValidationError(
            "give the rules either with --rules-file or with --rules", field="rules"
        )
    text = _read_text(rules_file, "rules_file") if rules_file else rules_text
    if include_staff and staff_tags:
        raise ValidationError(
            "--include-staff and --staff-tag contradict each other", field="staff_tag"
        )
    app = get_app()
    lo, hi = entry_window(period=period, start=start, end=end, tz=app.timezone)
    draw_moment = parse_datetime(draw_at, tz=app.timezone, field="draw_at") if draw_at else None
    with app.unit_of_work() as uow:
        campaign = create_campaign(
            uow,
            name=name,
            title=title,
            title_fa=title_fa,
            rules_text=text or "",
            entry_start=lo,
            entry_end=hi,
            draw_at=draw_moment,
            currency=currency,
            per_purchase=per_purchase,
            per_amount=per_amount,
            points_per_entry=points_per_entry,
            where=list(where),
            min_tier=min_tier,
            staff_tags=[] if include_staff else (list(staff_tags) or list(DEFAULT_STAFF_TAGS)),
            min_entries=min_entries,
            one_prize_per_person=not several_prizes_per_person,
            exclude_recent_winners=exclude_winners_of,
            prizes=[parse_prize(p) for p in prizes],
        )
        out = campaign_to_dict(uow, campaign, calendar=app.calendar, tz=app.timezone)
    echo_json(out) if as_json else click.echo(
        f"{out['name']} (id {out['id']}): entries {out['entries_from']} → "
        f"{out['entries_until']}, rules SHA-256 {out['rules_sha256']}"
    )


@lottery.command("show")
@click.argument("campaign")
@click.option("--rules", "with_rules", is_flag=True, help="Print the official rules too.")
@click.option("--json", "as_json", is_flag=True)
def show_cmd(campaign, with_rules, as_json):
    """Show a campaign: window, earning, eligibility, prizes, published hashes."""
    from .campaigns import campaign_to_dict, get_campaign

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        out = campaign_to_dict(
            uow,
            get_campaign(uow, campaign),
            calendar=app.calendar,
            tz=app.timezone,
            with_rules=with_rules,
        )
    if as_json:
        echo_json(out)
        return
    click.echo(
        f"{out['name']} — {out['title']}" + (f" / {out['title_fa']}" if out["title_fa"] else "")
    )
    click.echo(
        f"status: {out['status']}; entries {out['entries_from']} → {out['entries_until']}; "
        f"draw {out['draw_at']}"
    )
    e = out["earning"]
    step = "-"
    if e["per_amount_minor"] is not None:
        from crmcore.api import Formatter, Money

        step = Formatter.for_app(app).money(Money(e["per_amount_minor"], e["currency"]))
    click.echo(
        f"earning: {e['per_purchase']} per purchase; one per {step} spent; "
        f"points per entry {e['points_per_entry'] or '-'}"
    )
    g = out["eligibility"]
    where, staff = "; ".join(g["where"]) or "-", ", ".join(g["staff_tags"]) or "-"
    click.echo(
        f"eligibility: where {where}; min tier {g['min_tier'] or '-'}; staff tags {staff}; "
        f"min entries {g['min_entries']}; one prize per person "
        f"{'yes' if g['one_prize_per_person'] else 'no'}; winners of last "
        f"{g['exclude_winners_of_last_draws']} draws excluded"
    )
    for p in out["prizes"]:
        click.echo(
            f"  prize {p['rank']}: {p['name']}"
            + (f" / {p['name_fa']}" if p["name_fa"] else "")
            + f" × {p['quantity']} (stock {p['stock']}, awarded {p['awarded']})"
        )
    click.echo(
        f"{out['participants']} members, {out['entries']} entries; rules SHA-256 {out['rules_sha256']}"
    )
    if out["list_sha256"]:
        click.echo(
            f"frozen list SHA-256: {out['list_sha256']}\nseed commitment:    {out['seed_commitment']}"
        )
    if out["seed"]:
        click.echo(f"revealed seed:      {out['seed']}")
    if with_rules:
        click.echo("\n" + out["rules"])


@lottery.command("add-prize")
@click.argument("campaign")
@click.argument("name")
@click.option("--quantity", type=int, default=1, show_default=True)
@click.option("--stock", type=int, help="Units in hand (default: the quantity).")
@click.option("--name-fa", help="Persian name.")
def add_prize_cmd(campaign, name, quantity, stock, name_fa):
    """Add a prize (ranked after the existing ones) while the campaign is open."""
    from .campaigns import add_prize, get_campaign

    app = get_app()
    with app.unit_of_work() as uow:
        prize = add_prize(
            uow,
            get_campaign(uow, campaign, lock=True),
            name=name,
            quantity=quantity,
            stock=stock,
            name_fa=name_fa,
        )
        click.echo(f"prize {prize.rank}: {prize.name} × {prize.quantity}")


# -- cards --------------------------------------------------------------------------------------------------
@lottery.group("cards")
def cards_group():
    """Lottery cards handed out with products: generate batches, list them."""


@cards_group.command("generate")
@click.argument("campaign")
@click.option("--count", type=int, required=True, help="Number of cards.")
@click.option("--weight", type=int, default=1, show_default=True, help="Entries one card gives.")
@click.option("--label", help="What the batch is for (a product, a shop).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    help="Write the codes here (one a line); they are not stored and cannot be shown again.",
)
@click.option("--json", "as_json", is_flag=True)
def cards_generate_cmd(campaign, count, weight, label, out_path, as_json):
    """Generate COUNT unique card codes for CAMPAIGN (printed, or written to --out)."""
    from .campaigns import get_campaign
    from .cards import generate_batch

    app = get_app()
    with app.unit_of_work() as uow:
        batch, codes = generate_batch(
            uow, get_campaign(uow, campaign, lock=True), count, weight=weight, label=label
        )
        batch_id = batch.id
        if out_path:  # written before commit: a failed write leaves no cards whose codes nobody has
            _write_text(out_path, "\n".join(codes) + "\n", "out")
    if as_json:
        echo_json(
            {
                "batch": batch_id,
                "count": count,
                "weight": weight,
                "file": out_path,
                "codes": None if out_path else codes,
            }
        )
    elif out_path:
        click.echo(f"batch {batch_id}: {count} codes written to {out_path}")
    else:
        click.echo("\n".join(codes))


@cards_group.command("list")
@click.argument("campaign")
@click.option("--json", "as_json", is_flag=True)
def cards_list_cmd(campaign, as_json):
    """Card batches of CAMPAIGN with how many were redeemed."""
    from .campaigns import get_campaign
    from .cards import batches

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = batches(uow, get_campaign(uow, campaign))
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(
            f"batch {r['batch']}: {r['redeemed']}/{r['cards']} redeemed, {r['weight']} entries each"
            + (f" — {r['label']}" if r["label"] else "")
        )


# -- entries ------------------------------------------------------------------------------------------------
@lottery.command("enter")
@click.argument("campaign")
@click.argument("customer", required=False)
@click.option("--card", "code", help="Redeem this lottery card code for CUSTOMER.")
@click.option(
    "--points-entries",
    type=int,
    metavar="N",
    help="Buy N entries for CUSTOMER with loyalty points.",
)
@click.option(
    "--key", help="Idempotency key for --points-entries (a retry with it spends nothing more)."
)
@click.option(
    "--purchases", is_flag=True, help="Give entries for purchases already recorded in the window."
)
@click.option("--json", "as_json", is_flag=True)
def enter_cmd(campaign, customer, code, points_entries, key, purchases, as_json):
    """Enter CUSTOMER with a card or points, or collect entries from recorded purchases (--purchases)."""
    from crmcore.api import ValidationError, resolve_customer

    from .campaigns import get_campaign
    from .entries import buy_with_points, collect_purchases, entry_to_dict, redeem_card

    modes = [
        m
        for m, on in (
            ("--card", code),
            ("--points-entries", points_entries is not None),
            ("--purchases", purchases),
        )
        if on
    ]
    if len(modes) != 1:
        raise ValidationError("choose one of --card, --points-entries or --purchases", field="mode")
    if purchases and customer:
        raise ValidationError(
            "--purchases collects for every customer; give no CUSTOMER", field="customer"
        )
    if not purchases and not customer:
        raise ValidationError(
            f"{modes[0]} needs a CUSTOMER (id, phone, email or external id)", field="customer"
        )
    if key and not points_entries:
        raise ValidationError("--key goes with --points-entries", field="key")
    app = get_app()
    with app.unit_of_work() as uow:
        c = get_campaign(uow, campaign, lock=True)
        if purchases:
            out = collect_purchases(uow, c)
        else:
            person = resolve_customer(uow.session, customer)
            entry = (
                redeem_card(uow, c, person, code)
                if code
                else buy_with_points(uow, c, person, points_entries, key=key)
            )
            out = entry_to_dict(entry)
    if as_json:
        echo_json(out)
    elif purchases:
        click.echo(
            f"{out['new_entries']} purchases gave {out['entries']} entries "
            f"({out['purchases']} purchases in the window, {out['already_entered']} already entered)"
        )
    else:
        click.echo(f"customer {out['customer_id']}: +{out['entries']} entries ({out['source']})")


@lottery.command("entries")
@click.argument("campaign")
@click.option("--customer", help="Only this customer.")
@click.option(
    "--limit",
    type=click.IntRange(0, None),
    default=50,
    show_default=True,
    help="Members to list (0: all).",
)
@click.option("--json", "as_json", is_flag=True)
def entries_cmd(campaign, customer, limit, as_json):
    """Entries per member (most first), with each member's lottery code."""
    from crmcore.api import resolve_customer

    from .campaigns import get_campaign
    from .entries import participant_totals
    from .members import format_code

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        cid = resolve_customer(uow.session, customer).id if customer else None
        rows = participant_totals(uow, get_campaign(uow, campaign), cid)
    shown = rows[:limit] if limit else rows
    if as_json:
        echo_json(shown)
        if len(shown) < len(rows):  # on stderr, so --json stays a list
            click.echo(cut_line(len(shown), len(rows), _fmt()), err=True)
        return

    def lines(shown, fmt):
        out = []
        for r in shown:
            sources = fmt.join(f"{k} {fmt.number(v)}" for k, v in sorted(r["by_source"].items()))
            code = fmt.digits(format_code(r["lottery_code"]))
            out.append(
                f"{fmt.digits(r['customer_id']):>7}  {code:>9} "
                f"{fmt.number(r['entries']):>6}  {r['name'] or ''}  ({sources})"
            )
        return "\n".join(out) if out else fmt.pick("no entries", "ورودی‌ای نیست")

    output(shown, as_json, text=lines)
    more = cut_line(len(shown), len(rows), _fmt())
    if more:
        click.echo(more)


def _fmt():
    from crmcore.api import cli_formatter

    return cli_formatter()


@lottery.command("settings")
@click.option(
    "--min-draw-gap", help="The least time between closing and the draw: 45m, 24h, 2d (0: none)."
)
@click.option("--json", "as_json", is_flag=True)
def settings_cmd(min_draw_gap, as_json):
    """Show or change the lottery's settings."""
    from .settings import all_settings, set_min_draw_gap

    with get_app().unit_of_work() as uow:
        if min_draw_gap is not None:
            set_min_draw_gap(uow, min_draw_gap)
        out = all_settings(uow)
    if as_json:
        echo_json(out)
        return
    click.echo(f"minimum gap between closing and the draw: {out['min_draw_gap']}")


# -- close, draw, verify ------------------------------------------------------------------------------------
@lottery.command("close")
@click.argument("campaign")
@click.option("--early", is_flag=True, help="Close before the end of the entry window.")
@click.option(
    "--commitment", help="SHA-256 of a seed you keep yourself (give the seed at the draw)."
)
@click.option("--json", "as_json", is_flag=True)
def close_cmd(campaign, early, commitment, as_json):
    """Freeze the entry list and publish its hash and the hash of the secret seed."""
    from .campaigns import get_campaign
    from .freeze import close_campaign

    app = get_app()
    with app.unit_of_work() as uow:
        out = close_campaign(
            uow, get_campaign(uow, campaign, lock=True), early=early, seed_commitment=commitment
        )
    if as_json:
        echo_json(out)
    else:
        click.echo(
            f"{out['campaign']} closed: {out['eligible']} eligible members, {out['entries']} entries"
        )
        if out["excluded"]:
            click.echo("excluded: " + ", ".join(f"{k} {v}" for k, v in out["excluded"].items()))
        click.echo(
            f"publish these before the draw:\n  frozen list SHA-256: {out['list_sha256']}\n"
            f"  seed commitment:     {out['seed_commitment']}"
        )
    _warn(out["warnings"])


@lottery.command("draw")
@click.argument("campaign")
@click.option("--seed", help="The seed, when you kept it yourself (close --commitment).")
@click.option("--json", "as_json", is_flag=True)
def draw_cmd(campaign, seed, as_json):
    """Reveal the seed and draw the winners of a closed campaign."""
    from .campaigns import get_campaign
    from .drawing import draw_campaign

    app = get_app()
    with app.unit_of_work() as uow:
        out = draw_campaign(uow, get_campaign(uow, campaign, lock=True), seed=seed)
    if as_json:
        echo_json(out)
    else:
        click.echo(f"{out['campaign']} drawn; revealed seed: {out['seed']}")
        for w in out["winners"]:
            code = f", lottery code {w['lottery_code']}" if w.get("lottery_code") else ""
            click.echo(
                f"  prize {w['prize_rank']} ({w['prize']}): "
                f"customer {w['customer_id']}{code} "
                f"(list position {w['position']}, ticket {w['ticket']})"
            )
    if out.get("warning"):
        _warn(
            [out["warning"]]
            + [
                f"prize {u['rank']} ({u['name']}): {u['not_awarded']} not awarded"
                for u in out["unawarded"]
            ]
        )


@lottery.command("verify")
@click.argument("campaign", required=False)
@click.option(
    "--proof",
    "proof_path",
    type=click.Path(dir_okay=False),
    help="Check an exported proof file instead of the database.",
)
@click.option("--list-hash", help="The frozen-list SHA-256 as it was announced.")
@click.option("--commitment", help="The seed commitment as it was announced.")
@click.option("--json", "as_json", is_flag=True)
def verify_cmd(campaign, proof_path, list_hash, commitment, as_json):
    """Recompute the draw from the published material; exit 1 when anything does not match."""
    from crmcore.api import ValidationError

    from .drawing import verify_campaign, verify_proof

    if not campaign and not proof_path:
        raise ValidationError("give a CAMPAIGN, or a proof file with --proof", field="campaign")
    if proof_path:
        try:
            data = json.loads(_read_text(proof_path, "proof"))
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{proof_path} is not JSON (line {exc.lineno})", field="proof"
            ) from None
        if campaign and isinstance(data, dict) and data.get("campaign") != campaign:
            raise ValidationError(
                f"{proof_path} is the proof of {data.get('campaign')!r}, not {campaign!r}",
                field="proof",
            )
        result = verify_proof(data, list_sha256=list_hash, seed_commitment=commitment)
        name = data.get("campaign") if isinstance(data, dict) else proof_path
    else:
        from .campaigns import get_campaign

        app = get_app()
        with app.unit_of_work(readonly=True) as uow:
            result = verify_campaign(
                uow, get_campaign(uow, campaign), list_sha256=list_hash, seed_commitment=commitment
            )
        name = campaign
    if as_json:
        echo_json({"campaign": name, **result.as_dict()})
    else:
        for check, ok, detail in result.checks:
            click.echo(f"{'ok  ' if ok else 'FAIL'} {check}: {detail}")
    if not result.ok:
        failed = [c for c, ok, _ in result.checks if not ok]
        raise click.ClickException(f"verification of {name} FAILED ({', '.join(failed)})")
    if not as_json:
        click.echo(f"verification of {name} passed")


@lottery.command("winners")
@click.argument("campaign")
@click.option("--json", "as_json", is_flag=True)
def winners_cmd(campaign, as_json):
    """The winners of a drawn campaign, in draw order."""
    from crmcore.api import Conflict

    from .campaigns import get_campaign
    from .drawing import winner_to_dict, winners

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = get_campaign(uow, campaign)
        if c.status != "drawn":
            raise Conflict(f"campaign {c.name!r} is {c.status}: no winners yet", field="campaign")
        rows = [winner_to_dict(uow, w) for w in winners(uow, c)]
    output(rows, as_json, text=_winner_lines)


def _winner_lines(rows, fmt):
    lines = []
    for w in rows:
        prize = fmt.pick(w["prize"], w["prize_fa"])
        code = (
            fmt.pick(", lottery code ", "، کد قرعه‌کشی ") + fmt.digits(w["lottery_code"])
            if w.get("lottery_code")
            else ""
        )
        who = fmt.pick("customer", "مشتری")
        lines.append(f"{fmt.number(w['slot'] + 1):>3}. {prize}: {w['name']}")
        lines.append(f"     ({who} {fmt.digits(w['customer_id'])}{code})")
    return "\n".join(lines) if lines else fmt.pick("no winners", "برنده‌ای نیست")


@lottery.command("export")
@click.argument("campaign")
@click.option(
    "--list",
    "list_path",
    type=click.Path(dir_okay=False),
    help="Write the frozen list (the exact text whose SHA-256 was published).",
)
@click.option(
    "--proof",
    "proof_path",
    type=click.Path(dir_okay=False),
    help="Write the proof (JSON: rules, list, hashes, seed, winners) once drawn.",
)
def export_cmd(campaign, list_path, proof_path):
    """Export the frozen list and the proof of the draw, for members and auditors."""
    from crmcore.api import ValidationError

    from .campaigns import get_campaign
    from .drawing import frozen_document, proof_document

    if not list_path and not proof_path:
        raise ValidationError("give --list FILE and/or --proof FILE", field="list")
    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = get_campaign(uow, campaign)
        document = frozen_document(uow, c)
        data = proof_document(uow, c) if proof_path else None
    if list_path:
        _write_text(list_path, document, "list")
        click.echo(f"frozen list written to {list_path}")
    if proof_path:
        _write_text(proof_path, json.dumps(data, ensure_ascii=False, indent=2) + "\n", "proof")
        click.echo(f"proof written to {proof_path}")
