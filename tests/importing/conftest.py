"""Helpers for the import tests: write CSV and XLSX files, a test plugin that watches the kernel's events."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from crmcore.api import hookimpl


def write_csv(
    path: Path, rows: list[list], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    """Write ``rows``; in Windows-1256, Persian ی is written as Arabic ي, as Persian Windows does."""
    if encoding == "cp1256":
        rows = [[str(c).replace("ی", "ي") for c in row] for row in rows]
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


class Watcher:
    """A plugin for tests: records events, can refuse customers, keeps per-customer rows in crm_settings
    (its "plugin data") and re-points them when customers merge."""

    def __init__(self, refuse_name: str | None = None):
        self.refuse_name = refuse_name
        self.created: list[int] = []
        self.recorded: list[tuple[int, str]] = []  # (customer_id, occurred_at iso)
        self.merged: list[tuple[int, int]] = []

    @hookimpl
    def crm_validate_customer(self, uow, customer, changes):
        if self.refuse_name and customer.display_name == self.refuse_name:
            return [f"watcher refuses {customer.display_name}"]
        return []

    @hookimpl
    def crm_customer_created(self, uow, customer):
        assert customer.id is not None and customer.phones is not None
        self.created.append(customer.id)

    @hookimpl
    def crm_interaction_recorded(self, uow, interaction, customer):
        """Seen events count once committed (as a plugin sending messages would do it: after commit)."""
        assert interaction.id is not None and customer.id == interaction.customer_id
        if "watcher" not in uow.cache:
            uow.cache["watcher"] = []
            uow.after_commit(lambda: self.recorded.extend(uow.cache["watcher"]))
        uow.cache["watcher"].append((customer.id, interaction.occurred_at.isoformat()))

    @hookimpl
    def crm_customers_merged(self, uow, kept, merged):
        from crmcore.storage.models import Setting

        self.merged.append((kept.id, merged.id))
        for s in uow.session.scalars(select(Setting).where(Setting.namespace == "watcher")):
            if s.value.get("customer_id") == merged.id:
                s.value = {**s.value, "customer_id": kept.id}


@pytest.fixture
def watcher_app(crm_app_factory):
    """``make(watcher)`` → an app with the Watcher registered as a plugin."""

    def make(watcher: Watcher):
        return crm_app_factory(extra_plugins=[("watcher", watcher, None)])

    return make
