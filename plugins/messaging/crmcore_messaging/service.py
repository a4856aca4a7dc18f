"""Templates, providers, triggers and occasions: create, change, list, remove (each validated)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from crmcore.api import (
    Conflict,
    NotFound,
    ValidationError,
    check_text,
    to_ascii_digits,
    where_conditions,
)

from .channels import validate_options
from .models import CATEGORIES, LANGUAGES, Campaign, Occasion, Provider, Template, Trigger
from .policy import check_channel
from .templating import BASE_FIELDS, DEFAULT_TEMPLATES, TRIGGER_FIELDS, check_source, used_fields_of

EVENT_TRIGGERS = (
    "purchase",
    "points_expiring",
    "tier_changed",
    "ticket_closed",
    "winners_drawn",
    "survey_invitation",
    "referral_joined",
    "referral_reward",
    "transfer_received",
    "transfer_pending",
    "transfer_expired",
    "transfer_reversed",
)
DATE_TRIGGERS = ("birthday", "anniversary")
_NAME = re.compile(r"^[\w.-]{1,100}$", re.UNICODE)


def _check_name(name: str, what: str, limit: int = 100) -> str:
    name = (name or "").strip()
    if not name or len(name) > limit or not _NAME.match(name):
        raise ValidationError(
            f"{name!r} is not a {what} name (letters, digits, '.', '-', '_'; at most {limit})",
            field="name",
        )
    return name


# --- templates ------------------------------------------------------------------------------------------
def save_template(
    uow,
    *,
    name: str,
    channel: str,
    body: str,
    language: str = "fa",
    subject: str | None = None,
    category: str = "transactional",
    replace: bool = False,
) -> Template:
    """Add (or with ``replace`` change) a template after checking its syntax, fields and sandbox safety."""
    name = _check_name(name, "template")
    check_channel(channel)
    if language not in LANGUAGES:
        raise ValidationError(
            f"{language!r} is not a language ({', '.join(LANGUAGES)})", field="language"
        )
    if category not in CATEGORIES:
        raise ValidationError(
            f"{category!r} is not a category ({', '.join(CATEGORIES)})", field="category"
        )
    if not (body or "").strip():
        raise ValidationError("the template body is empty", field="body")
    check_text(body, "body")
    check_text(subject or "", "subject")
    if channel == "email" and not (subject or "").strip():
        raise ValidationError("an email template needs a subject", field="subject")
    if channel == "sms" and subject:
        raise ValidationError("an SMS has no subject", field="subject")
    check_source(body, field="body")
    if subject:
        check_source(subject, field="subject")
    for trig in uow.session.scalars(
        select(Trigger).where(Trigger.template == name, Trigger.channel == channel)
    ):
        _check_fields_for(trig.event, [body, subject or ""])
    existing = uow.session.scalar(
        select(Template).where(
            Template.name == name, Template.channel == channel, Template.language == language
        )
    )
    now = uow.now()
    if existing is not None and not replace:
        raise Conflict(
            f"the {language} {channel} template {name!r} exists; update it instead", field="name"
        )
    if existing is None:
        existing = Template(name=name, channel=channel, language=language, created_at=now)
        uow.session.add(existing)
    existing.category, existing.subject, existing.body, existing.updated_at = (
        category,
        subject or None,
        body,
        now,
    )
    uow.session.flush()
    uow.cache.get("messaging", {}).pop("templates", None)
    uow.audit(
        "save",
        "messaging_template",
        existing.id,
        {"name": name, "channel": channel, "language": language},
    )
    return existing


def find_template(
    uow, name: str, channel: str, language: str | None = None, *, fallback: str = "fa"
) -> Template:
    """The template in ``language`` if there is one, else in ``fallback``, else any language."""
    cache = uow.cache.setdefault("messaging", {}).setdefault("templates", {})
    if (name, channel) not in cache:  # a campaign renders one template for thousands of customers
        cache[(name, channel)] = list(
            uow.session.scalars(
                select(Template)
                .where(Template.name == name, Template.channel == channel)
                .order_by(Template.id)
            )
        )
    rows = cache[(name, channel)]
    if not rows:
        raise NotFound(f"no {channel} template named {name!r}", field="template")
    for lang in (language, fallback):
        for row in rows:
            if row.language == lang:
                return row
    return rows[0]


def list_templates(uow) -> list[Template]:
    return list(
        uow.session.scalars(
            select(Template).order_by(Template.name, Template.channel, Template.language)
        )
    )


def remove_template(uow, name: str, channel: str, language: str | None = None) -> int:
    q = select(Template).where(Template.name == name, Template.channel == channel)
    if language:
        q = q.where(Template.language == language)
    rows = list(uow.session.scalars(q))
    if not rows:
        raise NotFound(
            f"no {channel} template named {name!r}" + (f" in {language}" if language else ""),
            field="template",
        )
    remaining = uow.session.scalars(
        select(Template.language).where(Template.name == name, Template.channel == channel)
    ).all()
    if len(remaining) == len(rows):  # the last language goes: nothing may still use the template
        users = [
            f"trigger {t.event}"
            for t in uow.session.scalars(
                select(Trigger).where(Trigger.template == name, Trigger.channel == channel)
            )
        ]
        users += [
            f"occasion {o.name}"
            for o in uow.session.scalars(
                select(Occasion).where(Occasion.template == name, Occasion.channel == channel)
            )
        ]
        users += [
            f"campaign {c.name}"
            for c in uow.session.scalars(
                select(Campaign).where(
                    Campaign.template == name,
                    Campaign.channel == channel,
                    Campaign.status.in_(("draft", "scheduled")),
                )
            )
        ]
        if users:
            raise Conflict(f"template {name!r} is used by {', '.join(users)}", field="template")
    for row in rows:
        uow.session.delete(row)
    uow.cache.get("messaging", {}).pop("templates", None)
    uow.audit("remove", "messaging_template", name, {"channel": channel, "language": language})
    return len(rows)


def _check_fields_for(trigger: str, sources: list[str]) -> None:
    allowed = set(BASE_FIELDS) | set(TRIGGER_FIELDS[trigger])
    for source in sources:
        unknown = sorted(used_fields_of(source, "body") - allowed)
        if unknown:
            raise ValidationError(
                f"the {trigger} trigger does not provide the field {unknown[0]!r} "
                f"(it provides: {', '.join(sorted(allowed))})",
                field="template",
            )


def check_template_for(uow, name: str, channel: str, trigger: str) -> None:
    """Every language of the template must only use fields ``trigger`` provides."""
    rows = list(
        uow.session.scalars(
            select(Template).where(Template.name == name, Template.channel == channel)
        )
    )
    if not rows:
        raise NotFound(f"no {channel} template named {name!r}", field="template")
    for row in rows:
        _check_fields_for(trigger, [row.body, row.subject or ""])


# --- providers ------------------------------------------------------------------------------------------
def add_provider(
    uow,
    *,
    name: str,
    kind: str,
    channel: str,
    options: dict[str, Any],
    rate_per_minute: int | None = None,
    default: bool = False,
) -> Provider:
    name = _check_name(name, "provider", 60)
    check_channel(channel)
    options = validate_options(kind, channel, options)
    if rate_per_minute is not None and rate_per_minute < 1:
        raise ValidationError("the rate limit must be at least 1 message a minute", field="rate")
    if uow.session.scalar(select(Provider.id).where(Provider.name == name)) is not None:
        raise Conflict(f"a provider named {name!r} exists", field="name")
    first = uow.session.scalar(select(Provider.id).where(Provider.channel == channel)) is None
    if default:
        for other in uow.session.scalars(select(Provider).where(Provider.channel == channel)):
            other.is_default = False
    row = Provider(
        name=name,
        kind=kind,
        channel=channel,
        options=options,
        rate_per_minute=rate_per_minute,
        is_default=default or first,
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    uow.audit("add", "messaging_provider", row.id, {"name": name, "kind": kind, "channel": channel})
    return row


def provider_for(uow, channel: str) -> Provider | None:
    rows = list(
        uow.session.scalars(
            select(Provider)
            .where(Provider.channel == channel)
            .order_by(Provider.is_default.desc(), Provider.id)
        )
    )
    return rows[0] if rows else None


def list_providers(uow) -> list[Provider]:
    return list(uow.session.scalars(select(Provider).order_by(Provider.channel, Provider.name)))


def remove_provider(uow, name: str) -> None:
    row = uow.session.scalar(select(Provider).where(Provider.name == name))
    if row is None:
        raise NotFound(f"no provider named {name!r}", field="provider")
    uow.session.delete(row)
    uow.audit("remove", "messaging_provider", row.id, {"name": name})


def provider_to_dict(p: Provider) -> dict[str, Any]:
    hidden = {"api_key", "auth_token", "password"}
    options = {
        k: (v if k not in hidden or str(v).startswith("env:") else "***")
        for k, v in p.options.items()
    }
    return {
        "name": p.name,
        "kind": p.kind,
        "channel": p.channel,
        "options": options,
        "rate_per_minute": p.rate_per_minute,
        "default": p.is_default,
    }


# --- triggers and occasions -----------------------------------------------------------------------------
def set_trigger(uow, *, event: str, template: str | None, channel: str) -> Trigger:
    """Send ``template`` on ``event``; without one, a trigger with a Persian default text uses the
    SMS template named after it (saved from :data:`.templating.DEFAULT_TEMPLATES` when missing)."""
    if event not in EVENT_TRIGGERS + DATE_TRIGGERS:
        raise ValidationError(
            f"unknown trigger {event!r} ({', '.join(EVENT_TRIGGERS + DATE_TRIGGERS)})",
            field="event",
        )
    check_channel(channel)
    if not template:
        template = _default_template(uow, event, channel)
    check_template_for(uow, template, channel, event)
    row = uow.session.scalar(
        select(Trigger).where(Trigger.event == event, Trigger.channel == channel)
    )
    if row is None:
        row = Trigger(event=event, channel=channel, template=template, created_at=uow.now())
        uow.session.add(row)
    row.template, row.enabled = template, True
    uow.session.flush()
    uow.cache.get("messaging", {}).pop("triggers", None)
    uow.audit(
        "set",
        "messaging_trigger",
        row.id,
        {"event": event, "channel": channel, "template": template},
    )
    return row


def _default_template(uow, event: str, channel: str) -> str:
    if event not in DEFAULT_TEMPLATES or channel != "sms":
        raise ValidationError(
            f"name the template the {event} trigger sends (--template); only "
            f"{', '.join(DEFAULT_TEMPLATES)} have a default SMS text",
            field="template",
        )
    exists = uow.session.scalar(
        select(Template.id).where(
            Template.name == event, Template.channel == "sms", Template.language == "fa"
        )
    )
    if exists is None:
        save_template(uow, name=event, channel="sms", language="fa", body=DEFAULT_TEMPLATES[event])
    return event


def remove_trigger(uow, event: str, channel: str) -> None:
    row = uow.session.scalar(
        select(Trigger).where(Trigger.event == event, Trigger.channel == channel)
    )
    if row is None:
        raise NotFound(f"no {channel} trigger for {event!r}", field="event")
    uow.session.delete(row)
    uow.cache.get("messaging", {}).pop("triggers", None)
    uow.audit("remove", "messaging_trigger", row.id, {"event": event, "channel": channel})


def triggers_for(uow, event: str) -> list[Trigger]:
    """Enabled triggers of an event (cached per unit of work: imports call this once per row)."""
    cache = uow.cache.setdefault("messaging", {})
    if "triggers" not in cache:
        rows = uow.session.scalars(
            select(Trigger).where(Trigger.enabled.is_(True)).order_by(Trigger.id)
        )
        table: dict[str, list[Trigger]] = {}
        for row in rows:
            table.setdefault(row.event, []).append(row)
        cache["triggers"] = table
    return cache["triggers"].get(event, [])


def list_triggers(uow) -> list[Trigger]:
    return list(uow.session.scalars(select(Trigger).order_by(Trigger.event, Trigger.channel)))


def parse_jalali_day(raw: str) -> tuple[int, int]:
    text = to_ascii_digits(str(raw or "")).strip()
    m = re.fullmatch(r"(\d{1,2})[-/](\d{1,2})", text)
    if not m:
        raise ValidationError(
            f"{raw!r} is not a Jalali month and day like 01-01 or 09-30", field="date"
        )
    month, day = int(m[1]), int(m[2])
    longest = 31 if month <= 6 else 30
    if not 1 <= month <= 12 or not 1 <= day <= longest:
        raise ValidationError(f"{raw!r} is not a day of the Jalali calendar", field="date")
    return month, day


def add_occasion(
    uow, *, name: str, date: str, template: str, channel: str, where: list[str] | None = None
) -> Occasion:
    name = _check_name(name, "occasion", 60)
    month, day = parse_jalali_day(date)
    check_channel(channel)
    check_template_for(uow, template, channel, "occasion")
    where_conditions(uow, list(where or []))  # refuse a bad clause now, not on the day
    if uow.session.scalar(select(Occasion.id).where(Occasion.name == name)) is not None:
        raise Conflict(f"an occasion named {name!r} exists", field="name")
    row = Occasion(
        name=name,
        jalali_month=month,
        jalali_day=day,
        channel=channel,
        template=template,
        where=list(where or []),
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    uow.audit("add", "messaging_occasion", row.id, {"name": name, "date": f"{month:02d}-{day:02d}"})
    return row


def list_occasions(uow) -> list[Occasion]:
    return list(
        uow.session.scalars(select(Occasion).order_by(Occasion.jalali_month, Occasion.jalali_day))
    )


def remove_occasion(uow, name: str) -> None:
    row = uow.session.scalar(select(Occasion).where(Occasion.name == name))
    if row is None:
        raise NotFound(f"no occasion named {name!r}", field="occasion")
    uow.session.delete(row)
    uow.audit("remove", "messaging_occasion", row.id, {"name": name})


def template_to_dict(t: Template) -> dict[str, Any]:
    return {
        "name": t.name,
        "channel": t.channel,
        "language": t.language,
        "category": t.category,
        "subject": t.subject,
        "body": t.body,
        "updated_at": t.updated_at.isoformat(),
    }


def preview_text(
    uow, *, body: str, subject: str | None = None, channel: str = "sms", customer=None
) -> dict[str, Any]:
    """A template's text (not yet saved) rendered as ``customer`` would get it — sample values
    for the fields events add — or, without a customer, for the sample customer. Checked as saving
    checks it (syntax, unknown fields, the sandbox, the channel's length)."""
    from .fields import customer_fields
    from .templating import SAMPLE, render_source

    check_channel(channel)
    if not (body or "").strip():
        raise ValidationError("the template body is empty", field="body")
    if channel == "sms" and subject:
        raise ValidationError("an SMS has no subject", field="subject")
    check_source(body, field="body")
    if subject:
        check_source(subject, field="subject")
    context = dict(SAMPLE) | (customer_fields(uow, customer) if customer is not None else {})
    shown_subject = (
        render_source(subject, context, field="subject", channel="email") if subject else None
    )
    return {
        "customer_id": customer.id if customer is not None else None,
        "subject": shown_subject,
        "body": render_source(body, context, field="body", channel=channel),
    }
