"""``crm surveys …``: create, list, show, update, revise, invite, answer, import answers, results, follow-ups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crmcore.api import echo_json, get_app

STATUS_CHOICE = click.Choice(["active", "paused", "closed"])
CHANNEL_CHOICE = click.Choice(["sms", "email", "any"])


@click.group()
def surveys():
    """Satisfaction surveys (NPS, CSAT, CES): create, invite, answer, results."""


def _load_file(path: str | None) -> dict[str, Any]:
    from crmcore.api import ValidationError

    if not path:
        return {}
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValidationError(f"{path} is not valid YAML/JSON{where}", field="file") from None
    if isinstance(data, list):
        data = {"questions": data}
    if not isinstance(data, dict):
        raise ValidationError(
            f"{path} must hold a mapping (title, questions, triggers…) or a question list",
            field="file",
        )
    known = {
        "name",
        "title",
        "title_fa",
        "questions",
        "triggers",
        "channel",
        "sample",
        "delay",
        "expire_days",
        "status",
    }
    unknown = set(data) - known
    if unknown:
        raise ValidationError(
            f"{path}: unknown property {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})",
            field="file",
        )
    return data


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        click.echo(f"warning: {w}", err=True)


@surveys.command("create")
@click.argument("name")
@click.option(
    "--file",
    "file_path",
    type=click.Path(dir_okay=False),
    help="YAML/JSON definition: title, title_fa, questions, triggers…",
)
@click.option(
    "--template", type=click.Choice(["nps", "csat", "ces"]), help="Standard bilingual questions."
)
@click.option("--title", help="English title.")
@click.option("--title-fa", help="Persian title.")
@click.option(
    "--trigger",
    "triggers",
    multiple=True,
    metavar="EVENT [k=v…]",
    help="purchase [sku=A,B] [category=C], spend at_least=X days=N, first_purchase days=N, "
    "ticket_closed, deal_won.",
)
@click.option("--channel", type=CHANNEL_CHOICE, help="Invitation channel (default sms).")
@click.option(
    "--sample", type=int, help="Percentage of triggering events invited (1–100, default 100)."
)
@click.option("--delay", help="Wait before sending: 0, 45m, 3h, 2d (default 0).")
@click.option("--expire-days", type=int, help="Days an invitation can be answered (default 30).")
@click.option(
    "--paused",
    is_flag=True,
    help="Create it paused (no invitations until `update --status active`).",
)
@click.option("--json", "as_json", is_flag=True)
def create(
    name,
    file_path,
    template,
    title,
    title_fa,
    triggers,
    channel,
    sample,
    delay,
    expire_days,
    paused,
    as_json,
):
    """Create survey NAME from --file or --template; prints its id."""
    from crmcore.api import ValidationError

    from .service import create_survey, definition_from_template, survey_to_dict

    data = _load_file(file_path)
    if template and "questions" in data:
        raise ValidationError(
            "give the questions either in --file or with --template, not both", field="template"
        )
    questions = definition_from_template(template) if template else data.get("questions")
    app = get_app()
    with app.unit_of_work() as uow:
        survey, warnings = create_survey(
            uow,
            name=name,
            title=title or data.get("title"),
            title_fa=title_fa or data.get("title_fa"),
            questions=questions,
            triggers=list(triggers) or list(data.get("triggers") or []),
            channel=channel or data.get("channel") or "sms",
            sample_percent=sample if sample is not None else data.get("sample", 100),
            delay=delay if delay is not None else data.get("delay"),
            expire_days=expire_days if expire_days is not None else data.get("expire_days", 30),
            status="paused" if paused else data.get("status", "active"),
        )
        out = survey_to_dict(
            uow, survey, calendar=app.calendar, tz=app.timezone, with_questions=True
        )
    _warn(warnings)
    echo_json(out) if as_json else click.echo(out["id"])


@surveys.command("update")
@click.argument("survey")
@click.option("--title")
@click.option("--title-fa")
@click.option(
    "--trigger", "triggers", multiple=True, help="Replace the triggers with these (repeat)."
)
@click.option("--no-triggers", is_flag=True, help="Remove every trigger (manual invitations only).")
@click.option("--channel", type=CHANNEL_CHOICE)
@click.option("--sample", type=int)
@click.option("--delay")
@click.option("--expire-days", type=int)
@click.option("--status", type=STATUS_CHOICE)
@click.option("--json", "as_json", is_flag=True)
def update(
    survey,
    title,
    title_fa,
    triggers,
    no_triggers,
    channel,
    sample,
    delay,
    expire_days,
    status,
    as_json,
):
    """Change SURVEY's settings (the questions change with `revise`)."""
    from crmcore.api import ValidationError

    from .service import survey_to_dict, update_survey

    if triggers and no_triggers:
        raise ValidationError("--trigger and --no-triggers contradict each other", field="trigger")
    app = get_app()
    with app.unit_of_work() as uow:
        s, warnings = update_survey(
            uow,
            survey,
            title=title,
            title_fa=title_fa,
            triggers=[] if no_triggers else (list(triggers) or None),
            channel=channel,
            sample_percent=sample,
            delay=delay,
            expire_days=expire_days,
            status=status,
        )
        out = survey_to_dict(uow, s, calendar=app.calendar, tz=app.timezone)
    _warn(warnings)
    echo_json(out) if as_json else click.echo(f"survey {out['name']} updated")


@surveys.command("revise")
@click.argument("survey")
@click.option(
    "--file",
    "file_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="The new questions (YAML/JSON).",
)
@click.option("--json", "as_json", is_flag=True)
def revise(survey, file_path, as_json):
    """Publish a new version of SURVEY's questions; earlier answers keep the questions they answered."""
    from .service import revise_survey

    data = _load_file(file_path)
    with get_app().unit_of_work() as uow:
        version = revise_survey(uow, survey, data.get("questions"))
        out = {
            "survey": version.survey.name,
            "version": version.version,
            "questions": version.questions,
        }
    echo_json(out) if as_json else click.echo(
        f"survey {out['survey']} is now at version {out['version']}"
    )


@surveys.command("list")
@click.option("--status", type=STATUS_CHOICE)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(status, as_json):
    """Every survey with its triggers, invitations sent and response rate."""
    from sqlalchemy import select

    from .models import Survey
    from .service import survey_counts, survey_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        q = select(Survey).order_by(Survey.name)
        if status:
            q = q.where(Survey.status == status)
        items = list(uow.session.scalars(q))
        counts = survey_counts(uow.session)
        rows = [
            survey_to_dict(
                uow,
                s,
                calendar=app.calendar,
                tz=app.timezone,
                counts=counts.get(s.id, {"sent": 0, "responses": 0}),
            )
            for s in items
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no surveys yet: crm surveys create NAME --template nps --title-fa …")
    for r in rows:
        rate = f"{r['response_rate']}%" if r["response_rate"] is not None else "-"
        title = r["title_fa"] if app.calendar == "jalali" and r["title_fa"] else r["title"]
        click.echo(
            f"{r['name']}\t{r['status']}\t{title}\tv{r['version']}\tsent {r['invitations_sent']}\t"
            f"answers {r['responses']}\trate {rate}\t{'; '.join(r['triggers']) or 'manual'}"
        )


@surveys.command("show")
@click.argument("survey")
@click.option(
    "--lang",
    type=click.Choice(["fa", "en"]),
    default="fa",
    show_default=True,
    help="Wording shown.",
)
@click.option("--json", "as_json", is_flag=True)
def show(survey, lang, as_json):
    """SURVEY's settings, triggers and current questions."""
    from .service import get_survey, survey_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        out = survey_to_dict(
            uow,
            get_survey(uow.session, survey),
            calendar=app.calendar,
            tz=app.timezone,
            with_questions=True,
        )
    if as_json:
        echo_json(out)
        return
    click.echo(
        f"{out['name']} — {out['title_fa'] if lang == 'fa' and out['title_fa'] else out['title']}"
    )
    click.echo(
        f"status {out['status']}, version {out['version']}, channel {out['channel']}, "
        f"sample {out['sample_percent']}%, delay {out['delay']}, expires after {out['expire_days']} days"
    )
    click.echo(f"triggers: {'; '.join(out['triggers']) or 'none (manual invitations)'}")
    click.echo(
        f"sent {out['invitations_sent']}, answers {out['responses']}, "
        f"response rate {out['response_rate'] + '%' if out['response_rate'] else '-'}"
    )
    for w in out["warnings"]:
        click.echo(f"warning: {w}")
    for q in out["questions"]:
        text = q["text"].get(lang) or next(iter(q["text"].values()))
        mark = "*" if q["required"] else " "
        click.echo(f"{mark} {q['key']} [{q['type']}] {text}")
        for c in q.get("choices", ()):
            click.echo(f"    - {c['key']}: {c['text'].get(lang) or next(iter(c['text'].values()))}")


@surveys.command("invite")
@click.argument("survey")
@click.argument("customers", nargs=-1)
@click.option(
    "--where", "clauses", multiple=True, help="Invite a segment: tag=vip, city=تهران… (repeat)."
)
@click.option(
    "--ignore-fatigue",
    is_flag=True,
    help="Invite even if invited recently (consent is always respected).",
)
@click.option("--json", "as_json", is_flag=True)
def invite_cmd(survey, customers, clauses, ignore_fatigue, as_json):
    """Invite CUSTOMERS (id, phone, email, external id) or a --where segment to SURVEY; prints the tokens.

    One named customer who cannot be invited (no consent, invited recently) is an error; for several or a
    segment, those skipped are counted by reason.
    """
    from collections import Counter

    from sqlalchemy import select

    from crmcore.api import Conflict, Customer, ValidationError, resolve_customer, where_conditions

    from .invitations import invitation_to_dict, invite
    from .service import get_survey

    if not customers and not clauses:
        raise ValidationError("name customers or give a --where segment", field="customer")
    app = get_app()
    with app.unit_of_work() as uow:
        s = get_survey(uow.session, survey)
        if s.status != "active":
            raise Conflict(
                f"survey {s.name!r} is {s.status}; activate it: crm surveys update {s.name} --status active",
                field="survey",
            )
        targets = [resolve_customer(uow.session, c) for c in customers]
        if clauses:
            q = (
                select(Customer)
                .where(
                    Customer.merged_into_id.is_(None),
                    Customer.forgotten_at.is_(None),
                    *where_conditions(uow, list(clauses)),
                )
                .order_by(Customer.id)
            )
            targets.extend(uow.session.scalars(q))
        invited, skipped = [], Counter()
        for c in dict.fromkeys(targets):
            d = invite(
                uow,
                s,
                c,
                trigger="manual",
                sample=False,
                ignore_fatigue=ignore_fatigue,
                calendar=app.calendar,
            )
            if d.invitation is None:
                if len(targets) == 1 and not clauses:
                    raise Conflict(f"customer {c.id} was not invited: {d.reason}", field="customer")
                skipped[d.code] += 1
            else:
                invited.append(invitation_to_dict(uow, d.invitation, calendar=app.calendar))
    if as_json:
        echo_json({"invited": invited, "skipped": dict(skipped)})
        return
    if len(targets) == 1 and not clauses:  # one named customer: just the token, for scripts
        click.echo(invited[0]["token"])
        return
    for i in invited:
        click.echo(f"{i['customer_id']}\t{i['channel']}\t{i['token']}\t{i['url'] or ''}".rstrip())
    if skipped or len(invited) != 1:
        reasons = ", ".join(f"{n} {code}" for code, n in sorted(skipped.items())) or "none"
        click.echo(f"invited {len(invited)}; skipped: {reasons}", err=True)


def _parse_answers(items: tuple[str, ...]) -> dict[str, str]:
    from crmcore.api import ValidationError

    answers: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ValidationError(
                f"{item!r} is not QUESTION=VALUE (e.g. nps=9 or why='…')", field="answer"
            )
        k, v = item.split("=", 1)
        answers[k.strip().lower()] = v
    return answers


@surveys.command("answer")
@click.argument("token")
@click.option(
    "--answer",
    "-a",
    "items",
    multiple=True,
    metavar="QUESTION=VALUE",
    help="nps=9, csat=۴, reasons=price,quality, why='…' (repeat).",
)
@click.option(
    "--at", "answered_at", help="When it was answered (default now; Jalali or Gregorian)."
)
@click.option("--channel", help="Where it was answered (web, sms, phone, in-store…).")
@click.option("--json", "as_json", is_flag=True)
def answer(token, items, answered_at, channel, as_json):
    """Record the answers to the invitation TOKEN (stored as a survey_answer interaction too)."""
    from .answers import record_answer, response_to_dict

    app = get_app()
    with app.unit_of_work() as uow:
        r = record_answer(
            uow,
            token,
            _parse_answers(items),
            answered_at=answered_at,
            channel=channel,
            calendar=app.calendar,
        )
        out = response_to_dict(uow, r, calendar=app.calendar)
    if as_json:
        echo_json(out)
        return
    click.echo(out["response_id"])
    if out["detractor"]:
        click.echo(f"low score: follow-up → {out['followup']}", err=True)


@surveys.command("import-answers")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report, store nothing.")
@click.option("--json", "as_json", is_flag=True)
def import_answers_cmd(file, dry_run, as_json):
    """Record a CSV of answers: columns token, [answered_at], [channel], then one per question key."""
    from .answers import import_answers

    app = get_app()

    class DryRun(Exception):
        pass

    summary: dict[str, Any] = {}
    try:
        with app.unit_of_work() as uow:
            summary = import_answers(uow, file, calendar=app.calendar)
            if dry_run:
                raise DryRun
    except DryRun:
        pass
    summary["dry_run"] = dry_run
    if as_json:
        echo_json(summary)
    else:
        verb = "would record" if dry_run else "recorded"
        click.echo(f"{verb} {summary['recorded']} answers ({summary['detractors']} low scores)")


@surveys.command("results")
@click.argument("survey")
@click.option("--from", "start", help="First day (Jalali or Gregorian).")
@click.option("--to", "end", help="Last day, included.")
@click.option("--lang", type=click.Choice(["fa", "en"]), default="fa", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def results(survey, start, end, lang, as_json):
    """SURVEY's results question by question: NPS, CSAT, CES, choices, latest comments."""
    from crmcore.api import ReportParams, parse_date

    from .results import survey_results
    from .service import get_survey

    app = get_app()
    params = ReportParams(
        start=parse_date(start, field="from") if start else None,
        end=parse_date(end, field="to") if end else None,
        timezone=app.timezone,
    )
    lo, hi = params.utc_bounds()
    with app.unit_of_work(readonly=True) as uow:
        out = survey_results(
            uow, get_survey(uow.session, survey), start=lo, end=hi, calendar=app.calendar
        )
    if as_json:
        echo_json(out)
        return
    rate = f"{out['response_rate']}%" if out["response_rate"] is not None else "-"
    click.echo(
        f"{out['survey']}: {out['responses']} answers, {out['invitations_sent']} sent, response rate {rate}, "
        f"{out['detractors']} low scores"
    )
    for q in out["questions"]:
        text = q["text"].get(lang) or next(iter(q["text"].values()))
        click.echo(f"\n{q['key']} [{q['type']}] {text} — {q['answers']} answers")
        if q["type"] == "nps":
            click.echo(
                f"  NPS {q['nps']}  promoters {q['promoters']}  passives {q['passives']}  "
                f"detractors {q['detractors']}"
            )
        elif q["type"] == "csat":
            click.echo(f"  CSAT {q['csat']}%  average {q['average']}  {q['distribution']}")
        elif q["type"] == "ces":
            click.echo(f"  CES average {q['average']}  {q['distribution']}")
        elif "choices" in q:
            for c in q["choices"]:
                click.echo(f"  {c['count']:>5}  {c['text'].get(lang) or c['key']}")
        else:
            for item in q["latest"]:
                click.echo(f"  {item['answered_at']}  #{item['customer_id']}: {item['text']}")


@surveys.command("invitations")
@click.argument("survey")
@click.option(
    "--status",
    type=click.Choice(
        ["created", "queued", "sent", "delivered", "failed", "answered", "expired", "cancelled"]
    ),
    help="created: no channel has it yet; queued: a channel will send it; "
    "sent/delivered/failed: what the channel reported.",
)
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def invitations_cmd(survey, status, limit, as_json):
    """SURVEY's invitations, newest first."""
    from .invitations import list_invitations

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = list_invitations(uow, survey, status=status, limit=limit, calendar=app.calendar)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no invitations" + (f" with status {status}" if status else ""))
    for r in rows:
        note = f"  ({r['note']})" if r["note"] and r["status"] == "created" else ""
        click.echo(
            f"{r['id']}\t#{r['customer_id']}\t{r['status']}\t{r['channel']}\t"
            f"{r['send_at']}\t{r['trigger']}{note}"
        )


@surveys.command("cancel")
@click.argument("token")
def cancel(token):
    """Cancel the invitation TOKEN (it can no longer be answered)."""
    from .invitations import cancel_invitation

    with get_app().unit_of_work() as uow:
        inv = cancel_invitation(uow, token)
        click.echo(f"invitation {inv.id} cancelled")


@surveys.command("followups")
@click.option(
    "--status", type=click.Choice(["open", "done", "all"]), default="open", show_default=True
)
@click.option("--json", "as_json", is_flag=True)
def followups(status, as_json):
    """Low scores waiting for a call back (when no tickets plugin took them)."""
    from .followups import followup_to_dict, list_followups

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [
            followup_to_dict(uow, f, calendar=app.calendar)
            for f in list_followups(uow.session, status=None if status == "all" else status)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"no {'' if status == 'all' else status + ' '}follow-ups")
    for r in rows:
        click.echo(
            f"{r['id']}\t{r['status']}\t{r['created_at']}\t#{r['customer_id']} {r['customer']}\t"
            f"{r['survey']} score {r['score']}\t{r['comment'] or ''}"
        )


@surveys.command("followup-done")
@click.argument("followup_id", type=int)
@click.option("--note", help="What was done (called back, refunded…).")
def followup_done(followup_id, note):
    """Close follow-up FOLLOWUP_ID."""
    from .followups import close_followup

    with get_app().unit_of_work() as uow:
        close_followup(uow, followup_id, note)
    click.echo(f"follow-up {followup_id} closed")


@surveys.command("settings")
@click.option(
    "--fatigue-days",
    type=int,
    help="Never invite a customer more than once in N days (0: no limit).",
)
@click.option(
    "--max-event-age-days", type=int, help="Older events (imported history) trigger no survey."
)
@click.option("--link-template", help="Survey link, e.g. https://shop.ir/s/{token} ('' to remove).")
@click.option("--json", "as_json", is_flag=True)
def settings(fatigue_days, max_event_age_days, link_template, as_json):
    """Show or change the plugin-wide settings."""
    from .settings import all_settings, set_setting

    with get_app().unit_of_work() as uow:
        if fatigue_days is not None:
            set_setting(uow, "fatigue_days", fatigue_days)
        if max_event_age_days is not None:
            set_setting(uow, "max_event_age_days", max_event_age_days)
        if link_template is not None:
            set_setting(uow, "link_template", link_template.strip() or None)
        out = all_settings(uow)
    if as_json:
        echo_json(out)
        return
    for k, v in out.items():
        click.echo(f"{k}\t{'' if v is None else v}")
