"""The plugin's panel of the customer profile, built from the kernel's UI components
(``crmcore.api.ui``): the kernel renders it on the web (Persian or English) and in
``crm customers show``, formatting every value (numbers, dates, money) for the reader. Give every
text in English and Persian with ``ui.Label``."""
from __future__ import annotations

from crmcore.api import ui

from . import service

L = ui.Label
#: the kernel events this plugin notes, as a reader names them
EVENTS = {"customer_created": L("Became a customer", "مشتری شد"),
          "customer_updated": L("Details changed", "تغییر مشخصات"),
          "interaction_recorded": L("Interactions", "تعامل‌ها")}


def profile_panel(uow, customer) -> ui.Panel:
    summary = service.summary(uow, customer.id)
    events = summary["events"]
    return ui.Panel(
        key="{{ cookiecutter.plugin_name }}",
        title=L("{{ cookiecutter.description }}", "{{ cookiecutter.description_fa }}"),
        order=100,
        items=[ui.Stat(L("Events noted", "رویدادهای ثبت‌شده"), sum(events.values()), kind="number"),
               ui.Table(columns=[ui.Column("event", L("Event", "رویداد")),
                                 ui.Column("count", L("Count", "تعداد"), "number")],
                        rows=[{"event": EVENTS.get(event, L(event)), "count": count}
                              for event, count in sorted(events.items())],
                        empty=L("Nothing noted yet.", "هنوز چیزی ثبت نشده است."))],
        data=summary)  # the machine form of `crm customers show --json`
