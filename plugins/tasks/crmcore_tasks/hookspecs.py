"""Hooks of the tasks plugin: one other plugins call (create a follow-up) and events they may implement.

Other plugins work without tasks installed: check ``uow.has_plugin("tasks")`` before
``uow.call("tasks_create_follow_up", …)``, and implement the events with ``@hookimpl(optionalhook=True)``.
"""

from __future__ import annotations

from crmcore.api import hookspec

#: Events written to the outbox only (no hook is called): name → what its payload holds.
#: ``uow.emit`` refuses a name that is neither here nor a hook specification.
OUTBOX_EVENTS = {
    "tasks_task_created": (
        "A task was added: the task's event data (id, title, due time, assignee, customer)."
    ),
    "tasks_task_snoozed": ("A task's due time was moved later: the task's event data."),
    "tasks_task_updated": (
        "A task's title, time, recurrence or reminders were changed: the task's event data after "
        "the change."
    ),
    "tasks_task_cancelled": ("A task was cancelled: the task's event data and ``reason``."),
}


@hookspec(firstresult=True)
def tasks_create_follow_up(uow, customer_id, title, kind, due_at, dedup_key, source, reference):
    """Create a follow-up task for a customer (a missed call → call back, a detractor → follow-up…).

    :param customer_id: the customer's id (a merged customer's id leads to the survivor).
    :param title: what to do, Persian or English (``"تماس با مشتری: تماس بی‌پاسخ"``).
    :param kind: ``call_back``, ``follow_up``, ``meeting``, ``visit``, ``email`` or ``task``.
    :param due_at: an aware datetime, a string the CLI accepts (``1403-07-15 14:30``, ``+2h``, ``tomorrow``),
        or ``None`` for now.
    :param dedup_key: while an open task has this key, calling again returns that task instead of creating
        another (e.g. ``"voip:missed:+989121234567"``); ``None`` never de-duplicates.
    :param source: the calling plugin's name (shown in listings, stored on the task).
    :param reference: the record the task is about, ``"TYPE:ID"`` (``"deal:17"``) or ``None``.
    :return: the :class:`crmcore_tasks.models.Task` (new, or the existing open one for a repeated key). The
        task is assigned to the customer's ``owner`` when that owner is a tasks user.
    :when: called by other plugins inside their unit of work; implemented by tasks itself.
    """


@hookspec
def tasks_task_completed(uow, task):
    """A task (or one occurrence of a recurring task) was marked done.

    :param task: the :class:`crmcore_tasks.models.Task` after completion: ``state`` is ``done``, or for a
        recurring series still ``open`` with ``due_at`` moved to the next occurrence. ``task.ref_type`` /
        ``task.ref_id`` name the record it was about (a deal's next step, a ticket's call back).
    :when: inside ``crm tasks done``'s unit of work, after the completion is flushed.
    """


@hookspec
def tasks_reminder_due(uow, task, reminder):
    """A reminder of an open task is due. Tasks itself tells the assignee (a staff notification:
    ``crmcore.api.notify_user``); implement this to do more for staff. Never message the customer:
    the task is internal (its title and notes may say «مشتری بدحساب است»).

    :param task: the open :class:`crmcore_tasks.models.Task` (``due_at``, ``assignee``, ``title``…).
    :param reminder: the :class:`crmcore_tasks.models.TaskReminder` (``minutes_before``).
    :when: by the ``tasks.reminders`` job of ``crm jobs run``, once per reminder and occurrence (a snooze or
        the next occurrence of a recurring task announces it again).
    """
