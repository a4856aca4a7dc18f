"""What the CLI says, in one line, about a failure the user (or the machine's state) caused rather
than a bug: a user error (:class:`~crmcore.errors.CRMError`), a busy, missing or unreachable
database, a database not initialised, a broker that cannot be reached.
:class:`crmcore.cli.main.CRMGroup` asks here once for every command (kernel and plugins)."""

from __future__ import annotations

from typing import Any

#: modules whose connection errors mean "the message broker cannot be reached"
BROKER_MODULES = ("pika", "redis", "dramatiq", "kombu", "amqp")
BUSY_IMPORT = "the database is busy: an import is running; try again"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def user_message(exc: BaseException, state: Any) -> str | None:
    """The one-line message for ``exc``, or ``None`` when it is a bug (the traceback then
    matters)."""
    from ..errors import CRMError, DatabaseBusy

    if isinstance(exc, DatabaseBusy):
        return _busy(state) or one_line(str(exc))
    if isinstance(exc, CRMError):
        return one_line(str(exc))
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.DBAPIError):
        return _database_message(exc, state)
    if _is_broker_error(exc):
        detail = one_line(str(exc)) or type(exc).__name__
        return (
            f"cannot reach the message broker ({detail}); check that it is running and --broker or "
            "$CRM_BROKER_URL"
        )
    return None


def _engine(state: Any):
    app = getattr(state, "_app", None)
    if app is None:
        from ..app import CRM

        app = CRM(getattr(state, "db", None))
    return app.engine


def _busy(state: Any) -> str | None:
    from ..importing.runs import LOCK
    from ..storage.locks import is_held

    try:
        return BUSY_IMPORT if is_held(_engine(state), LOCK) else None
    except Exception:  # noqa: BLE001 - only a better wording is lost
        return None


def _database_message(exc, state: Any) -> str:
    from sqlalchemy import exc as sa

    from ..storage.schema import NOT_INITIALISED, is_initialised, older_message

    text = str(getattr(exc, "orig", None) or exc).strip()
    detail = one_line(text.splitlines()[0]) if text else type(exc).__name__
    if "database is locked" in detail or "database is busy" in detail:
        return _busy(state) or "the database is busy: another command is writing; try again"
    if isinstance(exc, sa.IntegrityError):
        return (
            f"the database refused the change ({detail}): another command may have stored the same "
            "thing at the same moment; try again"
        )
    try:
        engine = _engine(state)
        if not is_initialised(engine):
            return NOT_INITIALISED
        older = older_message(engine)
    except Exception:  # noqa: BLE001 - the database cannot even be asked
        return f"cannot use the database: {detail}"
    return older or f"database error: {detail}"


def _is_broker_error(exc: BaseException) -> bool:
    for cls in type(exc).__mro__:
        module = cls.__module__.split(".")[0]
        if module in BROKER_MODULES and "connection" in cls.__name__.lower():
            return True
    return False
