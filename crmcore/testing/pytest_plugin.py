"""pytest fixtures for crmcore and plugin authors (entry point ``pytest11``; see :mod:`crmcore.testing`)."""

from __future__ import annotations

import json as _json
from typing import Any

import pytest

from .database import PostgresSchemas, SQLiteTemplate, postgres_base_url


def pytest_configure(config):
    config.addinivalue_line("markers", "crm_plugins(*names): enable only these plugins in crm_app")


@pytest.fixture(scope="session")
def _crm_sqlite_template(tmp_path_factory):
    return SQLiteTemplate(tmp_path_factory.mktemp("crm-template"))


@pytest.fixture(scope="session")
def _crm_postgres():
    base = postgres_base_url()
    if base is None:
        yield None
        return
    schemas = PostgresSchemas(base)
    yield schemas
    schemas.close()


def _backends():
    return ["sqlite", "postgresql"]


@pytest.fixture(params=_backends())
def crm_backend(request):
    """``sqlite`` always; ``postgresql`` when CRM_TEST_DATABASE_URL is set (skipped otherwise)."""
    if request.param == "postgresql" and postgres_base_url() is None:
        pytest.skip("PostgreSQL tests need CRM_TEST_DATABASE_URL")
    return request.param


@pytest.fixture
def crm_plugins(request) -> list[str]:
    """Plugins to enable in ``crm_app``: a ``crm_plugins`` marker, else none. Override in a conftest."""
    marker = request.node.get_closest_marker("crm_plugins")
    return list(marker.args) if marker else []


@pytest.fixture
def _crm_apps():
    apps: list = []
    yield apps
    for app in apps:
        app.dispose()


@pytest.fixture
def crm_database_url(crm_backend, request, tmp_path, _crm_apps):
    """A migrated database for this test only (all installed plugins' tables, no rows)."""
    if crm_backend == "sqlite":
        template = request.getfixturevalue("_crm_sqlite_template")
        yield template.fresh(tmp_path)
        return
    pg: PostgresSchemas = request.getfixturevalue("_crm_postgres")
    yield pg.url
    for app in _crm_apps:
        app.dispose()
    pg.truncate()


@pytest.fixture
def crm_empty_database_url(crm_backend, request, tmp_path):
    """An empty database (no schema), for tests of ``crm init`` and migrations."""
    if crm_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    pg: PostgresSchemas = request.getfixturevalue("_crm_postgres")
    yield pg.empty()
    pg.drop_empty()


@pytest.fixture
def crm_app_factory(crm_database_url, crm_plugins, _crm_apps):
    """``make(plugins=None, **kwargs)`` → a new :class:`CRM` on this test's database."""
    from ..app import CRM
    from .helpers import FrozenClock

    def make(plugins: list[str] | None = None, **kwargs: Any):
        kwargs.setdefault("clock", FrozenClock())
        app = CRM(crm_database_url, plugins=crm_plugins if plugins is None else plugins, **kwargs)
        _crm_apps.append(app)
        return app

    return make


@pytest.fixture
def crm_app(crm_app_factory, crm_plugins):
    """A CRM with exactly ``crm_plugins`` enabled (stored too, so ``crm_cli`` sees the same set).

    Its clock is a :class:`FrozenClock` (``crm_app.clock.advance(days=3)``).
    """
    from sqlalchemy.orm import Session

    from ..plugin_host import installed_manifests, set_state

    app = crm_app_factory()
    with app.engine.begin() as conn:
        session = Session(bind=conn)
        for name, m in installed_manifests().items():
            set_state(session, name, name in crm_plugins, m.version)
        session.flush()
        session.close()
    return app


class CLIResult:
    def __init__(self, result):
        self._r = result
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.exception = result.exception

    def json(self) -> Any:
        return _json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<CLIResult exit={self.exit_code} stdout={self.stdout[:200]!r} stderr={self.stderr[:200]!r}>"


@pytest.fixture
def crm_cli(crm_app):
    """``crm_cli("customers", "add", "--name", "…")`` runs the ``crm`` command in-process on this database, at
    ``crm_app``'s clock (``CRM_NOW``; pass ``env={"CRM_NOW": ""}`` for the real clock)."""
    from click.testing import CliRunner

    from ..cli.main import cli

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CLIResult:
        runner = CliRunner()
        # the command sees the test's clock: CRM_NOW freezes it at crm_app's current moment
        env = {"CRM_NOW": crm_app.clock().isoformat(), **(env or {})}
        result = runner.invoke(
            cli, ["--db", crm_app.url, *args], input=input, env=env, catch_exceptions=True
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CLIResult(result)

    return run
