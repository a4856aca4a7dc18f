"""The plugin's business logic: functions taking the unit of work first."""
from __future__ import annotations

from typing import Any
{% if cookiecutter.has_tables == "yes" %}
from sqlalchemy import func, select

from .models import EventNote


def note_event(uow, customer_id: int, event: str, detail: str = "") -> EventNote:
    note = EventNote(customer_id=customer_id, event=event, detail=detail[:300], at=uow.now())
    uow.session.add(note)
    return note


def summary(uow, customer_id: int) -> dict[str, Any]:
    rows = uow.session.execute(select(EventNote.event, func.count(EventNote.id))
                               .where(EventNote.customer_id == customer_id).group_by(EventNote.event))
    return {"events": {event: count for event, count in rows}}


def totals(uow) -> dict[str, Any]:
    """How often each event was noted, over all customers."""
    rows = uow.session.execute(select(EventNote.event, func.count(EventNote.id))
                               .group_by(EventNote.event))
    return {"events": {event: count for event, count in rows}}
{% else %}

def note_event(uow, customer_id: int, event: str, detail: str = "") -> None:
    counts = uow.cache.setdefault("{{ cookiecutter.plugin_name }}", {})
    counts[(customer_id, event)] = counts.get((customer_id, event), 0) + 1


def summary(uow, customer_id: int) -> dict[str, Any]:
    counts = uow.cache.get("{{ cookiecutter.plugin_name }}", {})
    return {"events": {e: n for (c, e), n in counts.items() if c == customer_id}}


def totals(uow) -> dict[str, Any]:
    """How often each event was noted in this unit of work, over all customers."""
    events: dict[str, int] = {}
    for (_customer, event), n in uow.cache.get("{{ cookiecutter.plugin_name }}", {}).items():
        events[event] = events.get(event, 0) + n
    return {"events": events}
{% endif %}
