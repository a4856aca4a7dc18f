"""Fixtures of the pipeline tests: only this plugin enabled, a runner for service calls, a hook recorder."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from crmcore.api import hookimpl


@pytest.fixture
def crm_plugins():
    return ["pipeline"]


@pytest.fixture
def run(crm_app):
    """``run(fn, *args, **kwargs)``: call a service function in its own unit of work; objects come back as ids."""

    def _run(fn, *args, **kwargs):
        with crm_app.unit_of_work() as uow:
            result = fn(uow, *args, **kwargs)
            return getattr(result, "id", result)

    return _run


@pytest.fixture
def count(crm_app):
    def _count(model, *where) -> int:
        with crm_app.unit_of_work(readonly=True) as uow:
            return uow.session.scalar(select(func.count()).select_from(model).where(*where))

    return _count


@pytest.fixture
def at(crm_app):
    """``at(2025, 4, 1, 9)``: set the frozen clock to that UTC moment."""

    def _at(*args) -> datetime:
        moment = datetime(*args, tzinfo=timezone.utc)
        crm_app.clock.set(moment)
        return moment

    return _at


class Recorder:
    """Implements the pipeline's hooks and remembers each call, in order."""

    def __init__(self):
        self.calls: list[tuple] = []

    @hookimpl
    def pipeline_deal_stage_changed(self, uow, deal, old_stage, new_stage):
        self.calls.append(
            ("stage_changed", deal.id, old_stage.code if old_stage else None, new_stage.code)
        )

    @hookimpl
    def pipeline_deal_won(self, uow, deal, reason):
        self.calls.append(("won", deal.id, reason.code if reason else None))

    @hookimpl
    def pipeline_deal_lost(self, uow, deal, reason):
        self.calls.append(("lost", deal.id, reason.code))


@pytest.fixture
def recorder_app(crm_app, crm_app_factory):
    """An app with the pipeline and a :class:`Recorder` plugin, on crm_app's clock; returns ``(app, recorder)``."""
    rec = Recorder()
    app = crm_app_factory(extra_plugins=[("recorder", rec, None)], clock=crm_app.clock)
    return app, rec
