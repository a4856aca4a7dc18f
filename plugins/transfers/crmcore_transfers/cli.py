"""``crm transfers …``: send, accept, decline, cancel, reverse, list, show, allowance and the policy.
CUSTOMER arguments take an id, external id, phone or email; POINTS may be written with Persian digits."""

from __future__ import annotations

import click

from crmcore.api import Label, cli_fields, cli_table, echo_json, get_app, json_option, output


def _when(app, iso: str | None) -> str:
    from crmcore.api import Formatter

    return Formatter.for_app(app).moment(iso)


def parse_points(raw: str) -> int:
    from crmcore.api import ValidationError, to_ascii_digits

    text = to_ascii_digits(raw).replace(",", "").replace("٬", "").strip()
    if not text.lstrip("-").isdigit():
        raise ValidationError(f"{raw!r} is not a whole number of points", field="points")
    return int(text)


#: the roles of a transfer's ledger entries, as a person reads them
ROLES = {
    "out": "sent",
    "fee": "fee",
    "in": "received",
    "return": "returned",
    "reversal": "reversed",
}


def entries_text(entries: dict) -> str:
    """``sent #12, fee #13, received #14`` (the loyalty ledger's entry ids, by role)."""
    parts = []
    for role, label in ROLES.items():
        ids = entries.get(role)
        ids = [ids] if isinstance(ids, int) else [i for i in ids or () if isinstance(i, int)]
        if ids:
            parts.append(f"{label} " + ", ".join(f"#{i}" for i in ids))
    return "; ".join(parts) or "none"


def _done(t: dict, as_json: bool, message: str) -> None:
    echo_json(t) if as_json else click.echo(message)


@click.group()
def transfers():
    """Member-to-member point transfers (انتقال امتیاز باشگاه مشتریان)."""


@transfers.command(
    context_settings={"ignore_unknown_options": True}
)  # "-5" is an amount to refuse clearly
@click.argument("sender")
@click.argument("recipient")
@click.argument("points")
@click.option("--key", help="Idempotency key: repeating a request with it never transfers twice.")
@click.option("--note", help="A message to the recipient (shown in the transfer).")
@click.option("--json", "as_json", is_flag=True)
def send(sender, recipient, points, key, note, as_json):
    """Give POINTS from SENDER to RECIPIENT under the program's [transfers] policy."""
    from crmcore.api import resolve_customer

    from .service import send as send_points
    from .service import transfer_to_dict

    app = get_app()
    amount = parse_points(points)
    with app.unit_of_work() as uow:
        a, b = resolve_customer(uow.session, sender), resolve_customer(uow.session, recipient)
        transfer, created = send_points(uow, a.id, b.id, amount, key=key, note=note)
        t = transfer_to_dict(transfer)
    state = {
        "pending": f"pending until {_when(app, t['respond_by'])} (the recipient must accept)",
        "completed": "completed",
    }.get(t["status"], t["status"])
    fee = f" (fee {t['fee']:,})" if t["fee"] else ""
    _done(
        t,
        as_json,
        f"transfer #{t['id']}: {t['points']:,} points{fee} {t['sender_id']} → {t['recipient_id']}, "
        f"{state}" + ("" if created else "; already requested with this key, nothing changed"),
    )


def _settle(action: str, transfer_id: int, as_json: bool, *args) -> None:
    from . import service

    app = get_app()
    with app.unit_of_work() as uow:
        t = service.transfer_to_dict(getattr(service, action)(uow, transfer_id, *args))
    _done(t, as_json, f"transfer #{t['id']}: {t['status']}")


@transfers.command()
@click.argument("transfer_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def accept(transfer_id, as_json):
    """The recipient accepts pending transfer TRANSFER_ID."""
    _settle("accept", transfer_id, as_json)


@transfers.command()
@click.argument("transfer_id", type=int)
@click.option("--reason", help="Why (kept in the transfer's history).")
@click.option("--json", "as_json", is_flag=True)
def decline(transfer_id, reason, as_json):
    """The recipient declines pending transfer TRANSFER_ID; the sender gets points and fee back."""
    _settle("decline", transfer_id, as_json, reason)


@transfers.command()
@click.argument("transfer_id", type=int)
@click.option("--reason", help="Why (kept in the transfer's history).")
@click.option("--json", "as_json", is_flag=True)
def cancel(transfer_id, reason, as_json):
    """The sender withdraws pending transfer TRANSFER_ID; points and fee come back."""
    _settle("cancel", transfer_id, as_json, reason)


@transfers.command()
@click.argument("transfer_id", type=int)
@click.option(
    "--reason", required=True, help="Why the club reverses it (kept in the history and audit log)."
)
@click.option("--json", "as_json", is_flag=True)
def reverse(transfer_id, reason, as_json):
    """Undo completed transfer TRANSFER_ID on both sides (refused if the recipient spent the points)."""
    _settle("reverse", transfer_id, as_json, reason)


@transfers.command("list")
@click.option("--customer", help="Only transfers this customer sent or received.")
@click.option(
    "--status",
    type=click.Choice(["pending", "completed", "declined", "cancelled", "expired", "reversed"]),
)
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@json_option
def list_cmd(customer, status, limit, as_json):
    """Transfers, newest first."""
    from crmcore.api import resolve_customer

    from .service import list_transfers, transfer_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        cid = resolve_customer(uow.session, customer).id if customer else None
        rows = [
            transfer_to_dict(t)
            for t in list_transfers(uow, customer_id=cid, status=status, limit=limit)
        ]
    output(rows, as_json, columns=COLUMNS, empty="no transfers")


#: a transfer as a table row
COLUMNS = [
    ("id", "#"),
    ("status", Label("Status", "وضعیت")),
    ("sender_id", Label("From", "از")),
    ("recipient_id", Label("To", "به")),
    ("points", Label("Points", "امتیاز"), "number"),
    ("fee", Label("Fee", "کارمزد"), "number"),
    ("created_at", Label("Asked", "درخواست"), "moment"),
]


@transfers.command()
@click.argument("transfer_id", type=int)
@json_option
def show(transfer_id, as_json):
    """One transfer with its status history and ledger entries."""
    from .service import get_transfer, transfer_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        t = transfer_to_dict(get_transfer(uow, transfer_id), history=True)

    def shown(t, fmt):
        facts = {
            "transfer": f"#{fmt.digits(t['id'])} {t['status']}",
            "from → to": f"{fmt.digits(t['sender_id'])} → {fmt.digits(t['recipient_id'])}",
            "points": fmt.number(t["points"]),
            "fee": fmt.number(t["fee"]),
            "asked": fmt.moment(t["created_at"]),
            "note": t["note"],
            "allowed as": t["circle"],
            "ledger entries": entries_text(t["entries"]),
        }
        if t["status"] == "pending":
            facts["answer by"] = fmt.moment(t["respond_by"])
        history = [
            {"at": h["at"], "event": h["event"], "by": h["actor"], "reason": h["reason"]}
            for h in t["history"]
        ]
        return [
            cli_fields(facts, fmt),
            cli_table(
                history,
                [
                    ("at", Label("When", "زمان"), "moment"),
                    ("event", Label("Event", "رویداد")),
                    ("by", Label("By", "توسط")),
                    ("reason", Label("Reason", "دلیل")),
                ],
                fmt,
            ),
        ]

    output(t, as_json, text=shown)


@transfers.command()
@click.argument("customer")
@json_option
def allowance(customer, as_json):
    """What CUSTOMER may still send and receive under each period limit."""
    from crmcore.api import resolve_customer

    from .limits import allowance as compute
    from .service import active_policy, policy_calendar

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        policy = active_policy(uow)
        rows = compute(uow, policy, policy_calendar(uow, policy), c.id, uow.now())

    def lines(data, fmt):
        out = []
        for r in data["limits"]:
            left = [
                _transfers(r["count_left"], fmt) if r["count_left"] is not None else "",
                f"{fmt.number(r['points_left'])} points" if r["points_left"] is not None else "",
            ]
            left_text = " and ".join(x for x in left if x)
            out.append(
                f"{r['limit']} ({fmt.period(r['label'])}): "
                f"used {_transfers(r['count'], fmt)}, {fmt.number(r['points'])} points; "
                f"left {left_text}"
            )
        return out or "the policy sets no period limits"

    output({"customer_id": c.id, "limits": rows}, as_json, text=lines)


def _transfers(n: int, fmt) -> str:
    return f"{fmt.number(n)} transfer" + ("" if n == 1 else "s")


@transfers.command()
@click.option(
    "--example",
    is_flag=True,
    help="Print a commented [transfers] section to paste into the program.",
)
@json_option
def policy(example, as_json):
    """The active transfer policy (the [transfers] section of the loyalty program)."""
    from importlib import resources

    from .service import active_policy, policy_calendar

    if example:
        example = resources.files("crmcore_transfers.examples").joinpath("transfers.toml")
        click.echo(example.read_text("utf-8"), nl=False)
        return
    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        p = active_policy(uow)
        data = p.to_dict(policy_calendar(uow, p))

    def lines(data, fmt):
        most = "no maximum" if data["max_points"] is None else fmt.number(data["max_points"])
        within = (
            f" within {data['accept_within_days']} days" if data["acceptance"] == "required" else ""
        )
        expiry = (
            f"{data['expiry_days']} days after receipt or with their original lot"
            if data["expiry_days"]
            else "with their original lot"
        )
        return [
            f"recipients: {fmt.join(data['recipients'])}; per transfer "
            f"{fmt.number(data['min_points'])} to {most} points; fee: {data['fee']}",
            f"acceptance: {data['acceptance']}{within}",
            f"received points expire {expiry}",
            f"family: cooling-off {data['family_cooling_days']} days, "
            f"at most {data['family_max_members']} members",
            *[f"limit: {lim['text']}" for lim in data["limits"]],
        ]

    output(data, as_json, text=lines)


from .cli_circles import family, recipients  # noqa: E402

transfers.add_command(family)
transfers.add_command(recipients)
