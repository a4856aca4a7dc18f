from datetime import datetime, timezone

import pytest

from crmcore.api import hookimpl
from crmcore.testing import make_customer


@pytest.fixture
def crm_plugins():
    return ["tasks"]


#: the default FrozenClock start: 2025-03-21 09:00 UTC = 12:30 in Tehran on 1404-01-01 (Nowruz)
START = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def users(crm_app):
    from crmcore_tasks.users import add_user

    with crm_app.unit_of_work() as uow:
        add_user(uow, "sara", display_name="سارا احمدی", email="sara@example.ir")
        add_user(uow, "reza", display_name="Reza Karimi")
    return ["sara", "reza"]


@pytest.fixture
def customer(crm_app):
    return make_customer(
        crm_app, "مریم رضایی", phones=["09121234567"], emails=["maryam@example.ir"]
    )


class Recorder:
    """A fake plugin recording the tasks events it receives."""

    def __init__(self):
        self.completed = []
        self.reminders = []

    @hookimpl(optionalhook=True)
    def tasks_task_completed(self, uow, task):
        self.completed.append((task.id, task.state, task.due_at))

    @hookimpl(optionalhook=True)
    def tasks_reminder_due(self, uow, task, reminder):
        self.reminders.append((task.id, reminder.minutes_before, task.due_at))


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def app_with_recorder(crm_app, crm_app_factory, recorder):
    return crm_app_factory(extra_plugins=[("recorder", recorder, None)], clock=crm_app.clock)


class Helpers:
    """Small helpers the tests share (a fixture, since tests are not importable modules)."""

    def __init__(self, app):
        self.app = app

    def count(self, model, *where):
        from sqlalchemy import func, select

        with self.app.unit_of_work(readonly=True) as uow:
            return uow.session.scalar(select(func.count()).select_from(model).where(*where))

    def add(self, customer_id, **fields):
        from crmcore_tasks.service import add_task

        fields.setdefault("kind", "follow_up")
        fields.setdefault("title", "پیگیری سفارش")
        with self.app.unit_of_work() as uow:
            return add_task(uow, customer=customer_id, **fields).id

    def get(self, task_id, calendar="gregorian"):
        from crmcore_tasks.display import task_to_dict
        from crmcore_tasks.service import get_task

        with self.app.unit_of_work(readonly=True) as uow:
            return task_to_dict(get_task(uow, task_id), calendar=calendar, now=uow.now())


@pytest.fixture
def h(crm_app):
    return Helpers(crm_app)
