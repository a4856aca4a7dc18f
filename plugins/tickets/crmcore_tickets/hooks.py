"""Hook implementations of the tickets plugin: lifecycle contributions, kernel events, other plugins' events."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import Customer, SearchField, ValidationError, compare, hookimpl, to_ascii_digits


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_search_fields():
    def open_tickets(op: str, value: str):
        from sqlalchemy import func

        from .models import UNSOLVED, Ticket

        if op == "~":
            raise ValidationError("open_tickets takes =, !=, <, <=, >, >=", field="open_tickets")
        try:
            n = int(to_ascii_digits(value).strip())
        except ValueError:
            raise ValidationError(
                f"{value!r} is not a whole number", field="open_tickets"
            ) from None
        count = (
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.customer_id == Customer.id, Ticket.state.in_(UNSOLVED))
            .scalar_subquery()
        )
        return compare(count, op, n)

    return [
        SearchField(
            name="open_tickets",
            description="unsolved support tickets (new, open, pending)",
            condition=open_tickets,
            type="int",
            ops=("=", "!=", ">=", "<=", ">", "<"),
        )
    ]


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import profile_section

    return profile_section(uow, customer)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl
def tickets_create_ticket(uow, customer_id, subject, body, channel, priority, dedup_key, source):
    from .service import open_ticket

    return open_ticket(
        uow,
        customer_id,
        subject=subject,
        body=body,
        channel=channel or "phone",
        priority=priority or "normal",
        dedup_key=dedup_key,
        source=source,
    )


@hookimpl
def tickets_customer_message(uow, customer_id, body, channel, subject, source):
    from .service import customer_message

    return customer_message(uow, customer_id, body, channel=channel, subject=subject, source=source)


@hookimpl(optionalhook=True)
def surveys_detractor(uow, response, customer):
    """A detractor's survey answer becomes a high-priority ticket (once per response)."""
    from .service import open_ticket

    comment = (getattr(response, "comment", None) or "").strip()
    body = f"امتیاز {response.score} در نظرسنجی «{response.survey_name}» (score {response.score})"
    if comment:
        body += f"\n\n{comment}"
    return open_ticket(
        uow,
        customer,
        subject=f"مشتری ناراضی: {response.survey_name} ({response.score})",
        body=body,
        channel="web",
        priority="high",
        category="survey",
        dedup_key=f"surveys:response:{response.id}",
        source="surveys",
    )


@hookimpl
def crm_web_boards():
    from .web import boards

    return boards()


@hookimpl
def crm_web_routes():
    from .web_pages import routes

    return routes()


@hookimpl
def crm_web_menu():
    from .web_pages import menu

    return menu()


@hookimpl
def crm_web_dashboard_widgets(uow, user, dashboard):
    from .web import dashboard_widgets

    return dashboard_widgets(uow, user, dashboard)


@hookimpl
def crm_customer_actions(uow, customer):
    from .web_pages import customer_actions

    return customer_actions(uow, customer)


@hookimpl
def crm_customer_timeline(uow, customer, before, limit):
    from .timeline import timeline_entries

    return timeline_entries(uow, customer, before, limit)
