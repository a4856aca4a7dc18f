"""The application object: database, plugins, settings, and units of work."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import ModuleType
from typing import Callable, Iterable, Iterator

from .domain.dates import DEFAULT_TIMEZONE, FUTURE_MARGIN, utcnow
from .plugin_host import PluginHost, installed_manifests, stored_states
from .storage.engine import create_engine, resolve_url
from .uow import UnitOfWork


def _clock_from_environment() -> Callable[[], datetime] | None:
    """``CRM_NOW`` (ISO 8601 or Jalali) freezes the clock: for tests of the CLI and for replaying a day."""
    value = os.environ.get("CRM_NOW")
    if not value:
        return None
    from .domain.dates import parse_datetime

    moment = parse_datetime(
        value, tz=os.environ.get("CRM_TIMEZONE") or DEFAULT_TIMEZONE, field="CRM_NOW"
    )
    return lambda: moment


def _future_margin_from_environment() -> timedelta:
    """``CRM_FUTURE_MARGIN_HOURS``: how many hours past the clock an interaction may be dated
    (default 24)."""
    value = os.environ.get("CRM_FUTURE_MARGIN_HOURS", "").strip()
    if not value:
        return FUTURE_MARGIN
    from .errors import ValidationError

    try:
        hours = float(value)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= 24 * 366:
        raise ValidationError(
            f"{value!r} is not a number of hours from 0 to 8784", field="CRM_FUTURE_MARGIN_HOURS"
        )
    return timedelta(hours=hours)


class CRM:
    """A CRM on one database.

    :param url: database URL (``--db``, else ``CRM_DATABASE_URL``, else ``sqlite:///crm.db``).
    :param plugins: enable exactly these installed plugins for this process (tests, embedding); by default the
        set stored in the database by ``crm plugins enable/disable`` is used.
    :param extra_plugins: objects to register as plugins without an installed distribution (tests), as
        ``(name, object, hookspec_module_or_None)``.
    :param future_margin: how far past the clock an interaction may be dated
        (``$CRM_FUTURE_MARGIN_HOURS``, else a day).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        plugins: Iterable[str] | None = None,
        extra_plugins: Iterable[tuple[str, object, ModuleType | None]] = (),
        timezone: str | None = None,
        calendar: str | None = None,
        clock: Callable[[], datetime] | None = None,
        actor: str | None = None,
        future_margin: timedelta | None = None,
    ):
        self.url = resolve_url(url)
        self._plugin_override = None if plugins is None else list(plugins)
        self._extra = list(extra_plugins)
        self._engine = None
        self._sessionmaker = None
        self._plugins: PluginHost | None = None
        self.timezone = timezone or os.environ.get("CRM_TIMEZONE") or DEFAULT_TIMEZONE
        self.calendar = calendar or os.environ.get("CRM_CALENDAR") or "gregorian"
        self.clock = clock or _clock_from_environment() or utcnow
        self.actor = actor or os.environ.get("CRM_ACTOR") or os.environ.get("USER") or "cli"
        self.future_margin = (
            future_margin if future_margin is not None else _future_margin_from_environment()
        )

    # -- storage ----------------------------------------------------------------------------------------
    @property
    def engine(self):
        if self._engine is None:
            from .storage.schema import check_not_newer

            engine = create_engine(self.url)
            try:  # old code must not read or write a schema it does not know
                with engine.connect().execution_options(crm_begin="DEFERRED") as conn:
                    check_not_newer(conn)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    @property
    def sessionmaker(self):
        if self._sessionmaker is None:
            from sqlalchemy.orm import sessionmaker

            self._sessionmaker = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        return self._sessionmaker

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def now(self) -> datetime:
        return self.clock()

    # -- plugins ----------------------------------------------------------------------------------------
    @property
    def plugins(self) -> PluginHost:
        if self._plugins is None:
            self._plugins = PluginHost(self.enabled_plugin_names(), extra_plugins=self._extra)
        return self._plugins

    def enabled_plugin_names(self) -> list[str]:
        if self._plugin_override is not None:
            return self._plugin_override
        from sqlalchemy.exc import OperationalError, ProgrammingError

        reading = self.engine.execution_options(
            crm_begin="DEFERRED"
        )  # SQLite: no write lock to wait for
        try:
            with self.sessionmaker(bind=reading) as session, session.begin():
                states = stored_states(session)
        except (OperationalError, ProgrammingError):
            from .errors import SchemaError
            from .storage.schema import NOT_INITIALISED, is_initialised

            if not is_initialised(self.engine):  # `crm init` creates it (and needs no plugin)
                raise SchemaError(NOT_INITIALISED) from None
            raise
        return [n for n, on in states.items() if on and n in installed_manifests()]

    def reload_plugins(self) -> None:
        self._plugins = None

    # -- units of work ----------------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(
        self, actor: str | None = None, *, readonly: bool = False
    ) -> Iterator[UnitOfWork]:
        """One transaction. Commits at the end of the ``with`` block, rolls back on any exception."""
        plugins = self.plugins  # build before the transaction: loading plugins may query state
        engine = self.engine.execution_options(crm_begin="DEFERRED") if readonly else self.engine
        session = self.sessionmaker(bind=engine)
        uow = UnitOfWork(self, session, actor or self.actor)
        uow.readonly = readonly
        assert plugins is not None
        try:
            yield uow
            if not readonly:
                uow._run_before_commit()
            uow.flush_outbox()
            if readonly:
                # a read-only unit never writes: anything it did is discarded; objects it loaded are detached
                # first so they stay readable after the transaction ends
                session.expunge_all()
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        uow._run_after_commit()

    def init(self) -> list[str]:
        """Create or upgrade the schema of the kernel and every enabled plugin (``crm init``)."""
        from .storage.migrate import init_database

        return init_database(self)
