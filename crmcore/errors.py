"""Errors the kernel and plugins raise for bad input and refused operations.

Every :class:`CRMError` is a *user error*: the CLI prints its message on one line on stderr, exits with
code 1, and the unit of work it happened in is rolled back, so nothing is stored.
"""

from __future__ import annotations


class CRMError(Exception):
    """Base class of every error a user can cause and read."""

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None):
        self.field = field
        self.row = row
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:  # "row 4, field phone: ..." so a reader knows where to look
        # messages quote what a person or a file gave: no escape codes reach a terminal
        from .domain.text import printable

        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field {self.field}")
        base = self.message
        return printable(f"{', '.join(where)}: {base}" if where else base)

    def at_row(self, row: int) -> "CRMError":
        self.row = row
        return self


class ValidationError(CRMError):
    """A value could not be accepted (unparseable phone, broken email, impossible date…)."""


class NotFound(CRMError):
    """A referenced record (customer, interaction, plugin…) does not exist."""


class Conflict(CRMError):
    """The operation clashes with stored data (duplicate external id, already merged…)."""


class Forbidden(CRMError):
    """The acting user may not touch this record (record rules: :mod:`crmcore.services.access`)."""


class PluginError(CRMError):
    """Plugin management refused an operation (unknown plugin, missing requirement, incompatible kernel)."""


class PluginHookError(CRMError):
    """A plugin's hook implementation raised; the whole unit of work was rolled back."""

    def __init__(self, plugin: str, hook: str, cause: BaseException):
        self.plugin = plugin
        self.hook = hook
        self.cause = cause
        detail = str(cause) or type(cause).__name__
        super().__init__(f"plugin {plugin!r} failed in {hook}: {detail}")


class DatabaseBusy(CRMError):
    """Another process held the database's write lock for longer than this command waits
    (SQLite)."""


class SchemaError(CRMError):
    """The database's schema does not fit this code: not initialised yet, or newer than this
    crmcore."""
