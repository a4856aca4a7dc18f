"""``crm messages …``: templates, send, campaigns, triggers, occasions, providers, settings, consent, log."""

from __future__ import annotations

from pathlib import Path

import click

from crmcore.api import echo_json, get_app

CHANNEL = click.Choice(["sms", "email"])


def _when(app, moment) -> str:
    from crmcore.api import Formatter

    return Formatter.for_app(app).moment(moment)


def _body(body: str | None, body_file: str | None) -> str:
    from crmcore.api import ValidationError

    if body is not None and body_file:
        raise ValidationError("give --body or --body-file, not both", field="body")
    if body_file:
        if body_file == "-":
            return click.get_text_stream("stdin").read()
        try:
            return Path(body_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(
                f"cannot read {body_file}: {exc.strerror}", field="body-file"
            ) from None
    if body is None:
        raise ValidationError("give the text with --body or --body-file", field="body")
    return body


@click.group()
def messages():
    """SMS and email: templates, sending, campaigns, triggers, consent and the delivery log."""


# --- templates ------------------------------------------------------------------------------------------
@messages.group()
def templates():
    """Message templates (Jinja2 in a sandbox; Persian and English)."""


def _template_options(fn):
    for opt in reversed(
        [
            click.argument("name"),
            click.option("--channel", type=CHANNEL, default="sms", show_default=True),
            click.option(
                "--language", type=click.Choice(["fa", "en"]), default="fa", show_default=True
            ),
            click.option(
                "--category",
                type=click.Choice(["transactional", "promotional"]),
                default="transactional",
                show_default=True,
                help="Promotional messages respect quiet hours and the frequency cap.",
            ),
            click.option("--subject", help="Email subject (a template too)."),
            click.option(
                "--body", help="The text, e.g. '{{ first_name }} عزیز، از خرید شما سپاسگزاریم'."
            ),
            click.option(
                "--body-file", help="Read the text from this file ('-' = standard input)."
            ),
            click.option("--json", "as_json", is_flag=True),
        ]
    ):
        fn = opt(fn)
    return fn


def _save(replace, name, channel, language, category, subject, body, body_file, as_json):
    from .service import save_template, template_to_dict

    text = _body(body, body_file)
    with get_app().unit_of_work() as uow:
        t = template_to_dict(
            save_template(
                uow,
                name=name,
                channel=channel,
                language=language,
                body=text,
                subject=subject,
                category=category,
                replace=replace,
            )
        )
    echo_json(t) if as_json else click.echo(
        f"{'updated' if replace else 'added'} {channel} template {name} ({language})"
    )


@templates.command("add")
@_template_options
def templates_add(**kw):
    """Add a template; unknown fields, syntax errors and sandbox escapes are refused."""
    _save(False, **kw)


@templates.command("update")
@_template_options
def templates_update(**kw):
    """Add or replace a template."""
    _save(True, **kw)


@templates.command("list")
@click.option("--json", "as_json", is_flag=True)
def templates_list(as_json):
    """Every template with its channel, language and category."""
    from .service import list_templates, template_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        items = [template_to_dict(t) for t in list_templates(uow)]
    if as_json:
        echo_json(items)
        return
    for t in items:
        click.echo(
            f"{t['name']}\t{t['channel']}\t{t['language']}\t{t['category']}\t{t['body'][:60]}"
        )


@templates.command("fields")
@click.option("--trigger", help="Only the fields this trigger provides.")
@click.option("--json", "as_json", is_flag=True)
def templates_fields(trigger, as_json):
    """The fields templates may use, and the filters (fa, toman, rial, money, number, jalali, gregorian)."""
    from crmcore.api import ValidationError

    from .templating import BASE_FIELDS, FILTERS, TRIGGER_FIELDS

    if trigger and trigger not in TRIGGER_FIELDS:
        raise ValidationError(
            f"unknown trigger {trigger!r} ({', '.join(TRIGGER_FIELDS)})", field="trigger"
        )
    table = {
        "all": BASE_FIELDS,
        **({trigger: TRIGGER_FIELDS[trigger]} if trigger else TRIGGER_FIELDS),
    }
    if as_json:
        echo_json({"fields": table, "filters": sorted(FILTERS)})
        return
    for group, fields in table.items():
        for name, help_text in fields.items():
            click.echo(f"{group}\t{name}\t{help_text}")
    click.echo("filters\t" + ", ".join(sorted(FILTERS)))


@templates.command("remove")
@click.argument("name")
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
@click.option(
    "--language", type=click.Choice(["fa", "en"]), help="Only this language (default: all)."
)
def templates_remove(name, channel, language):
    """Remove a template (refused while a trigger, occasion or pending campaign uses it)."""
    from .service import remove_template

    with get_app().unit_of_work() as uow:
        n = remove_template(uow, name, channel, language)
    click.echo(f"removed {n} template(s)")


@templates.command("preview")
@click.argument("name")
@click.argument("customer")
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def templates_preview(name, customer, channel, as_json):
    """Render a template for one customer (sample values for event fields); nothing is sent."""
    from crmcore.api import resolve_customer

    from .outbox import render_for
    from .templating import SAMPLE, TRIGGER_FIELDS

    events = {k: v for fields in TRIGGER_FIELDS.values() for k, v in SAMPLE.items() if k in fields}
    with get_app().unit_of_work(readonly=True) as uow:
        c = resolve_customer(uow.session, customer)
        t, subject, body = render_for(uow, c, name, channel, events)
        out = {"customer_id": c.id, "language": t.language, "subject": subject, "body": body}
    if as_json:
        echo_json(out)
    else:
        click.echo((f"Subject: {subject}\n\n" if subject else "") + body)


# --- sending and the log --------------------------------------------------------------------------------
@messages.command("send")
@click.argument("customer")
@click.option("--template", required=True)
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
@click.option(
    "--key", help="Idempotency key: the same key is never sent twice (default: a new message)."
)
@click.option("--json", "as_json", is_flag=True)
def send(customer, template, channel, key, as_json):
    """Send a template to one customer now (refused without consent, recipient or within the cap)."""
    import uuid

    from crmcore.api import resolve_customer

    from .models import Message
    from .outbox import queue_message

    app = get_app()
    with app.unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        msg = queue_message(
            uow,
            c,
            template=template,
            channel=channel,
            trigger="manual",
            key=f"manual:{key or uuid.uuid4().hex}",
            strict=True,
        )
        mid = msg.id
    with app.unit_of_work(readonly=True) as uow:
        out = _message_dict(app, uow.session.get(Message, mid))
    if as_json:
        echo_json(out)
    else:
        click.echo(
            f"message {mid}: {out['status']}" + (f" ({out['error']})" if out["error"] else "")
        )


@messages.command("lookup")
@click.argument("customer")
@click.argument("template")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A template variable (repeatable, in the template's order).",
)
@click.option(
    "--key", help="Idempotency key: the same key is never sent twice (default: a new message)."
)
@click.option("--json", "as_json", is_flag=True)
def lookup_cmd(customer, template, params, key, as_json):
    """Send a gateway template (verify lookup, OTP, pattern) to one customer now, on the service route."""
    import uuid

    from .lookup import send_lookup
    from .models import Message

    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--param {item!r} is not NAME=VALUE")
        values[name.strip()] = value
    app = get_app()
    mid = send_lookup(
        app, customer, template=template, params=values, key=f"lookup:{key or uuid.uuid4().hex}"
    )
    with app.unit_of_work(readonly=True) as uow:
        out = _message_dict(app, uow.session.get(Message, mid))
    if as_json:
        echo_json(out)
    else:
        click.echo(
            f"message {mid}: {out['status']}" + (f" ({out['error']})" if out["error"] else "")
        )


def _message_dict(app, m) -> dict:
    return {
        "id": m.id,
        "customer_id": m.customer_id,
        "channel": m.channel,
        "category": m.category,
        "recipient": m.recipient,
        "template": m.template,
        "language": m.language,
        "trigger": m.trigger,
        "subject": m.subject,
        "body": m.body,
        "status": m.status,
        "error": m.error,
        "attempts": m.attempts,
        "provider": m.provider,
        "provider_message_id": m.provider_message_id,
        "created_at": m.created_at.isoformat(),
        "created_local": _when(app, m.created_at),
        "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
    }


@messages.command("log")
@click.argument("customer", required=False)
@click.option(
    "--status",
    type=click.Choice(
        ["queued", "sending", "sent", "delivered", "failed", "blocked", "skipped", "unknown"]
    ),
)
@click.option("--campaign", help="Only this campaign's messages.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def log_cmd(customer, status, campaign, limit, as_json):
    """The delivery log, newest first (of one customer, a status, a campaign)."""
    from sqlalchemy import select

    from crmcore.api import resolve_customer

    from .campaigns import get_campaign
    from .models import Message

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        q = select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        if customer:
            q = q.where(Message.customer_id == resolve_customer(uow.session, customer).id)
        if status:
            q = q.where(Message.status == status)
        if campaign:
            q = q.where(Message.campaign_id == get_campaign(uow, campaign).id)
        items = [_message_dict(app, m) for m in uow.session.scalars(q)]
    if as_json:
        echo_json(items)
        return
    for m in items:
        click.echo(
            f"{m['id']}\t{m['created_local']}\t{m['customer_id']}\t{m['channel']}\t{m['template'] or ''}\t"
            f"{m['status']}\t{m['error'] or ''}"
        )


@messages.command("deliver")
@click.option("--json", "as_json", is_flag=True)
def deliver_cmd(as_json):
    """Send the due messages now (what the messaging.deliver job does)."""
    from .outbox import deliver

    totals = deliver(get_app())
    echo_json(totals) if as_json else click.echo(", ".join(f"{k} {v}" for k, v in totals.items()))


# --- campaigns ------------------------------------------------------------------------------------------
@messages.group()
def campaigns():
    """Promotional campaigns to a segment (--where tag=vip --where last_purchase<1403-01-01 …)."""


@campaigns.command("create")
@click.argument("name")
@click.option("--template", required=True)
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
@click.option(
    "--where", multiple=True, help="Segment clause (repeatable): tag=vip, city=تهران, tier=gold…"
)
@click.option(
    "--at",
    "at",
    help="Start at this local time (ISO or Jalali); without it the campaign is a draft.",
)
@click.option("--json", "as_json", is_flag=True)
def campaigns_create(name, template, channel, where, at, as_json):
    """Create a campaign (a draft to run by hand, or scheduled for the jobs)."""
    from crmcore.api import parse_datetime

    from .campaigns import campaign_to_dict, create_campaign

    app = get_app()
    with app.unit_of_work() as uow:
        when = parse_datetime(at, tz=app.timezone, field="at") if at else None
        out = campaign_to_dict(
            create_campaign(
                uow, name=name, template=template, channel=channel, where=list(where), at=when
            )
        )
    echo_json(out) if as_json else click.echo(f"campaign {name}: {out['status']}")


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True)
def campaigns_list(as_json):
    """Every campaign with its status and schedule."""
    from sqlalchemy import select

    from .campaigns import campaign_to_dict
    from .models import Campaign

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        items = [
            campaign_to_dict(c) for c in uow.session.scalars(select(Campaign).order_by(Campaign.id))
        ]
        shown = [
            _when(app, c.scheduled_at)
            for c in uow.session.scalars(select(Campaign).order_by(Campaign.id))
        ]
    if as_json:
        echo_json(items)
        return
    for c, when in zip(items, shown):
        click.echo(
            f"{c['name']}\t{c['status']}\t{c['channel']}\t{c['template']}\t{when}\t{' '.join(c['where'])}"
        )


@campaigns.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def campaigns_show(name, as_json):
    """A campaign and its messages by status."""
    from .campaigns import campaign_stats, campaign_to_dict, get_campaign

    with get_app().unit_of_work(readonly=True) as uow:
        c = get_campaign(uow, name)
        out = campaign_to_dict(c, stats=campaign_stats(uow, c))
    if as_json:
        echo_json(out)
        return
    for k, v in out.items():
        click.echo(f"{k}: {v}")


@campaigns.command("count")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def campaigns_count(name, as_json):
    """Dry run: who matches, who cannot be reached and why, how many would be sent. Nothing is stored."""
    from .campaigns import count_campaign, get_campaign

    with get_app().unit_of_work(readonly=True) as uow:
        out = count_campaign(uow, get_campaign(uow, name))
    echo_json(out) if as_json else click.echo("\n".join(f"{k}: {v}" for k, v in out.items()))


@campaigns.command("preview")
@click.argument("name")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True)
def campaigns_preview(name, customer, as_json):
    """The campaign's message as one customer would get it."""
    from crmcore.api import resolve_customer

    from .campaigns import get_campaign, preview_campaign

    with get_app().unit_of_work(readonly=True) as uow:
        out = preview_campaign(
            uow, get_campaign(uow, name), resolve_customer(uow.session, customer)
        )
    if as_json:
        echo_json(out)
    else:
        click.echo((f"Subject: {out['subject']}\n\n" if out["subject"] else "") + out["body"])


@campaigns.command("run")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def campaigns_run(name, as_json):
    """Queue the campaign now (a rerun queues only customers not yet messaged)."""
    from .campaigns import get_campaign, run_campaign

    with get_app().unit_of_work() as uow:
        out = run_campaign(uow, get_campaign(uow, name))
    echo_json(out) if as_json else click.echo(", ".join(f"{k} {v}" for k, v in out.items()))


@campaigns.command("cancel")
@click.argument("name")
def campaigns_cancel(name):
    """Cancel a campaign; its messages not yet sent are skipped."""
    from .campaigns import cancel_campaign, get_campaign

    with get_app().unit_of_work() as uow:
        n = cancel_campaign(uow, get_campaign(uow, name))
    click.echo(f"cancelled; {n} unsent message(s) skipped")


# --- triggers and occasions -----------------------------------------------------------------------------
@messages.group()
def triggers():
    """Which template an event (purchase, tier_changed…) or a date (birthday, anniversary) sends."""


@triggers.command("set")
@click.argument("event")
@click.option(
    "--template", help="The template to send; transfer triggers have a Persian default text."
)
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
def triggers_set(event, template, channel):
    """Send TEMPLATE on EVENT (the template may only use the fields the event provides)."""
    from .service import set_trigger

    with get_app().unit_of_work() as uow:
        template = set_trigger(uow, event=event, template=template, channel=channel).template
    click.echo(f"{event} → {template} ({channel})")


@triggers.command("list")
@click.option("--json", "as_json", is_flag=True)
def triggers_list(as_json):
    """Configured triggers."""
    from .service import list_triggers

    with get_app().unit_of_work(readonly=True) as uow:
        items = [
            {"event": t.event, "channel": t.channel, "template": t.template, "enabled": t.enabled}
            for t in list_triggers(uow)
        ]
    if as_json:
        echo_json(items)
        return
    for t in items:
        click.echo(f"{t['event']}\t{t['channel']}\t{t['template']}")


@triggers.command("remove")
@click.argument("event")
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
def triggers_remove(event, channel):
    """Stop sending on EVENT."""
    from .service import remove_trigger

    with get_app().unit_of_work() as uow:
        remove_trigger(uow, event, channel)
    click.echo(f"removed the {channel} trigger of {event}")


@messages.group()
def occasions():
    """Yearly greetings on a Jalali day (nowruz 01-01, yalda 09-30)."""


@occasions.command("add")
@click.argument("name")
@click.option("--date", "day", required=True, help="Jalali month-day, e.g. 01-01 or ۰۹-۳۰.")
@click.option("--template", required=True)
@click.option("--channel", type=CHANNEL, default="sms", show_default=True)
@click.option("--where", multiple=True, help="Only customers matching these clauses.")
def occasions_add(name, day, template, channel, where):
    """Greet every reachable customer (or a segment) on a Jalali day each year."""
    from .service import add_occasion

    with get_app().unit_of_work() as uow:
        o = add_occasion(
            uow, name=name, date=day, template=template, channel=channel, where=list(where)
        )
    click.echo(f"occasion {o.name} on {o.jalali_month:02d}-{o.jalali_day:02d}")


@occasions.command("list")
@click.option("--json", "as_json", is_flag=True)
def occasions_list(as_json):
    """Configured occasions."""
    from .service import list_occasions

    with get_app().unit_of_work(readonly=True) as uow:
        items = [
            {
                "name": o.name,
                "date": f"{o.jalali_month:02d}-{o.jalali_day:02d}",
                "channel": o.channel,
                "template": o.template,
                "where": list(o.where),
            }
            for o in list_occasions(uow)
        ]
    if as_json:
        echo_json(items)
        return
    for o in items:
        click.echo(
            f"{o['name']}\t{o['date']}\t{o['channel']}\t{o['template']}\t{' '.join(o['where'])}"
        )


@occasions.command("remove")
@click.argument("name")
def occasions_remove(name):
    """Remove an occasion."""
    from .service import remove_occasion

    with get_app().unit_of_work() as uow:
        remove_occasion(uow, name)
    click.echo(f"removed {name}")


# --- providers, settings, consent, inbound --------------------------------------------------------------
@messages.group()
def providers():
    """Delivery providers: smtp, kavenegar, ghasedak, smsir, melipayamak, twilio, file (development)."""


@providers.command("add")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["smtp", "kavenegar", "ghasedak", "smsir", "melipayamak", "twilio", "file"]),
    required=True,
)
@click.option("--channel", type=CHANNEL, required=True)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="host=…, api_key=env:KAVENEGAR_KEY (read from the environment), url=…, sender=…",
)
@click.option("--rate", type=int, help="At most this many messages a minute.")
@click.option("--default", "default", is_flag=True, help="The provider of its channel.")
def providers_add(name, kind, channel, options, rate, default):
    """Add a provider. Secrets are best given as env:VARIABLE."""
    from crmcore.api import ValidationError

    from .service import add_provider

    parsed = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"{item!r} is not KEY=VALUE", field="option")
        parsed[key.strip()] = value.strip()
    with get_app().unit_of_work() as uow:
        add_provider(
            uow,
            name=name,
            kind=kind,
            channel=channel,
            options=parsed,
            rate_per_minute=rate,
            default=default,
        )
    click.echo(f"provider {name} ({kind}, {channel})")


@providers.command("list")
@click.option("--json", "as_json", is_flag=True)
def providers_list(as_json):
    """Providers (secret options hidden)."""
    from .service import list_providers, provider_to_dict

    with get_app().unit_of_work(readonly=True) as uow:
        items = [provider_to_dict(p) for p in list_providers(uow)]
    if as_json:
        echo_json(items)
        return
    for p in items:
        click.echo(
            f"{p['name']}\t{p['kind']}\t{p['channel']}\t{'default' if p['default'] else ''}\t"
            f"{p['rate_per_minute'] or ''}"
        )


@providers.command("remove")
@click.argument("name")
def providers_remove(name):
    """Remove a provider."""
    from .service import remove_provider

    with get_app().unit_of_work() as uow:
        remove_provider(uow, name)
    click.echo(f"removed {name}")


@messages.group()
def settings():
    """Quiet hours, frequency cap, retries, opt-out keywords…"""


@settings.command("show")
@click.option("--json", "as_json", is_flag=True)
def settings_show(as_json):
    """Every setting with its value."""
    from .settings import SPECS, get_settings

    with get_app().unit_of_work(readonly=True) as uow:
        values = dict(get_settings(uow))
    if "webhook_token" in values and values["webhook_token"]:
        values["webhook_token"] = "***"
    if as_json:
        echo_json(values)
        return
    for key, value in values.items():
        click.echo(f"{key}\t{value}\t{SPECS[key].help}")


@settings.command("set")
@click.argument("key")
@click.argument("value")
def settings_set(key, value):
    """Change a setting (quiet_hours 22:00-08:00, frequency_cap 3/7, opt_out_keywords 'لغو,stop'…)."""
    from .settings import set_setting

    with get_app().unit_of_work() as uow:
        stored = set_setting(uow, key, value)
    click.echo(f"{key} = {stored}")


@messages.command("consent")
@click.argument("customer")
@click.option("--channel", type=CHANNEL, required=True)
@click.option("--opt-in/--opt-out", "granted", required=True)
@click.option("--note", help="Where the consent was given or withdrawn (form, call…).")
@click.option(
    "--advertising",
    is_flag=True,
    help="Only advertising SMS (e.g. the customer lifted their *800# block and asked again).",
)
def consent(customer, channel, granted, note, advertising):
    """Record a customer's opt-in or opt-out of a channel (kept as proof)."""
    from crmcore.api import resolve_customer

    from .policy import set_consent

    if advertising and channel != "sms":
        raise click.UsageError("--advertising applies to --channel sms")
    with get_app().unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        if advertising:
            from .delivery import set_marketing

            set_marketing(uow, c.id, granted, source="cli", detail=note)
        else:
            set_consent(uow, c, channel, granted, source="cli", detail=note)
    what = "advertising sms" if advertising else channel
    click.echo(f"customer {c.id}: {what} {'opted in' if granted else 'opted out'}")


@messages.command("inbound")
@click.option("--from", "sender", required=True, help="The sender's phone number.")
@click.option("--text", required=True)
@click.option("--json", "as_json", is_flag=True)
def inbound(sender, text, as_json):
    """Record an inbound SMS (an opt-out keyword such as «لغو» or STOP opts the sender out)."""
    from .inbound import handle_inbound_sms

    with get_app().unit_of_work() as uow:
        out = handle_inbound_sms(uow, sender, text, provider="cli")
    echo_json(out) if as_json else click.echo(
        f"{len(out['customers'])} customer(s); opted out: {', '.join(map(str, out['opted_out'])) or 'none'}"
    )


@messages.command("status")
@click.argument("provider_kind", type=click.Choice(["kavenegar", "twilio"]))
@click.argument("provider_message_id")
@click.argument("provider_status")
def status_cmd(provider_kind, provider_message_id, provider_status):
    """Apply a delivery report by hand (the webhooks do this for providers that call back)."""
    from .inbound import update_delivery_status

    with get_app().unit_of_work() as uow:
        out = update_delivery_status(uow, provider_kind, provider_message_id, provider_status)
    click.echo(f"message {out['message_id']}: {out['status']}")


@messages.command("serve-webhooks")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8025, show_default=True)
def serve_webhooks(host, port):
    """Serve provider callbacks (delivery reports, inbound SMS) over HTTP; put it behind your TLS proxy."""
    from wsgiref.simple_server import make_server

    from .webhooks import WebhookApp

    app = get_app()
    with make_server(host, port, WebhookApp(app)) as server:
        click.echo(
            f"listening on http://{host}:{port}/messaging/<kavenegar|twilio>/<status|inbound>?token=…"
        )
        click.echo(
            "  gateway delivery reports: /messaging/<ghasedak|smsir|melipayamak>/status?token=…"
        )
        server.serve_forever()


from .chat_cli import chat as _chat  # noqa: E402  (the chat bot's commands)

messages.add_command(_chat)
