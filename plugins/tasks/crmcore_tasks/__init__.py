"""crmcore-tasks: follow-ups, appointments, reminders and iCalendar feeds for crmcore."""

__version__ = "0.1.0"
