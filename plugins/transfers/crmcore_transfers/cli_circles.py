"""``crm transfers family …`` (family groups) and ``crm transfers recipients …`` (approved recipients)."""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app


def _customer(uow, ref: str) -> int:
    from crmcore.api import resolve_customer

    return resolve_customer(uow.session, ref).id


@click.group()
def family():
    """Family groups (گروه خانواده): members may give each other points after a cooling-off period."""


@family.command("create")
@click.argument("owner")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def family_create(owner, name, as_json):
    """OWNER creates a family group called NAME (and is its first member)."""
    from . import family as service

    with get_app().unit_of_work() as uow:
        data = service.family_to_dict(uow, service.create(uow, _customer(uow, owner), name))
    echo_json(data) if as_json else click.echo(f"family #{data['id']} «{data['name']}» created")


@family.command("invite")
@click.argument("inviter")
@click.argument("invitee")
def family_invite(inviter, invitee):
    """INVITER invites INVITEE into INVITER's family group."""
    from . import family as service

    with get_app().unit_of_work() as uow:
        invitation = service.invite(uow, _customer(uow, inviter), _customer(uow, invitee))
        text = f"invitation #{invitation.id}: customer {invitation.customer_id} to family #{invitation.family_id}"
    click.echo(text)


@family.command("accept")
@click.argument("customer")
@click.option(
    "--family", "family_id", type=int, help="Which family (when invited to more than one)."
)
def family_accept(customer, family_id):
    """CUSTOMER accepts an invitation and joins the family (the cooling-off period starts now)."""
    from crmcore_loyalty import api as loyalty

    from . import family as service
    from .policy import Policy

    with get_app().unit_of_work() as uow:
        cid = _customer(uow, customer)
        policy = (
            loyalty.active_program(uow).sections.get("transfers") or Policy()
        )  # families may form first
        member = service.accept(uow, cid, family_id, max_members=policy.family_max_members)
        text = f"customer {cid} joined family #{member.family_id}"
    click.echo(text)


@family.command("decline")
@click.argument("customer")
@click.option(
    "--family", "family_id", type=int, help="Which family (when invited to more than one)."
)
def family_decline(customer, family_id):
    """CUSTOMER declines an invitation."""
    from . import family as service

    with get_app().unit_of_work() as uow:
        invitation = service.decline(uow, _customer(uow, customer), family_id)
        text = f"invitation #{invitation.id} declined"
    click.echo(text)


@family.command("leave")
@click.argument("customer")
def family_leave(customer):
    """CUSTOMER leaves their family group (the last one to leave dissolves it)."""
    from . import family as service

    with get_app().unit_of_work() as uow:
        cid = _customer(uow, customer)
        fam = service.leave(uow, cid)
        text = f"customer {cid} left family #{fam.id}" + (
            " (dissolved)" if fam.dissolved_at else ""
        )
    click.echo(text)


@family.command("show")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def family_show(customer, as_json):
    """The family group of CUSTOMER, its members and open invitations."""
    from crmcore.api import NotFound

    from . import family as service

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        cid = _customer(uow, customer)
        member = service.membership(uow, cid)
        if member is None:
            raise NotFound(f"customer {cid} is not in a family group", field="customer")
        data = service.family_to_dict(uow, service.get_family(uow, member.family_id))
    if as_json:
        echo_json(data)
        return
    from crmcore.api import format_date

    click.echo(f"family #{data['id']} «{data['name']}»")
    for m in data["members"]:
        joined = format_date(_dt(m["joined_at"]), app.calendar, tz=app.timezone)
        click.echo(f"  {m['customer_id']:>6}  {m['role']:<6}  joined {joined}  {m['name']}")
    for i in data["open_invitations"]:
        click.echo(f"  invited: customer {i['customer_id']} (by {i['invited_by']})")


def _dt(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso)


@click.group()
def recipients():
    """Recipients a sender registered and the club approves (friends, colleagues)."""


def _recipient_cmd(name: str, doc: str):
    def decorator(fn):
        @recipients.command(name, help=doc)
        @click.argument("sender")
        @click.argument("recipient")
        @click.option("--json", "as_json", is_flag=True)
        def command(sender, recipient, as_json, **kwargs):
            from .recipients import recipient_to_dict

            with get_app().unit_of_work() as uow:
                row = fn(uow, _customer(uow, sender), _customer(uow, recipient), **kwargs)
                data = recipient_to_dict(row) if row is not None else None
            if as_json:
                echo_json(data)
            else:
                click.echo(f"recipient {recipient}: {data['status'] if data else 'removed'}")

        return command

    return decorator


@_recipient_cmd("add", "SENDER registers RECIPIENT; the club must approve it.")
def _add(uow, sender, recipient):
    from .recipients import register

    return register(uow, sender, recipient)[0]


@_recipient_cmd("approve", "The club approves RECIPIENT for SENDER.")
def _approve(uow, sender, recipient):
    from .recipients import decide

    return decide(uow, sender, recipient, approve=True)


@_recipient_cmd("reject", "The club rejects (or withdraws approval of) RECIPIENT for SENDER.")
def _reject(uow, sender, recipient):
    from .recipients import decide

    return decide(uow, sender, recipient, approve=False)


@_recipient_cmd("remove", "SENDER removes RECIPIENT from their list.")
def _remove(uow, sender, recipient):
    from .recipients import remove

    remove(uow, sender, recipient)
    return None


@recipients.command("list")
@click.option("--sender", help="Only this sender's recipients.")
@click.option("--status", type=click.Choice(["requested", "approved", "rejected"]))
@click.option("--json", "as_json", is_flag=True)
def recipients_list(sender, status, as_json):
    """Registered recipients (``--status requested`` is the club's approval queue)."""
    from .recipients import list_recipients, recipient_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        sid = _customer(uow, sender) if sender else None
        rows = [recipient_to_dict(r) for r in list_recipients(uow, sender_id=sid, status=status)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no registered recipients")
    for r in rows:
        note = f"  {r['note']}" if r["note"] else ""
        click.echo(f"{r['sender_id']:>6} → {r['recipient_id']:<6} {r['status']}{note}")
