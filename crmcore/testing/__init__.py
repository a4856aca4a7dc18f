"""Test support for crmcore and its plugins (registered as a pytest plugin through ``pytest11``).

Fixtures (see :mod:`crmcore.testing.pytest_plugin`):

- ``crm_backend``: ``"sqlite"``, and ``"postgresql"`` too when ``CRM_TEST_DATABASE_URL`` is set — every test
  that uses a database runs on both.
- ``crm_plugins``: the plugins to enable (default none; override it in your ``conftest.py`` or mark a test
  ``@pytest.mark.crm_plugins("loyalty", "tiers")``).
- ``crm_database_url``: a migrated database of its own for this test (all installed plugins' tables).
- ``crm_app``: a :class:`crmcore.api.CRM` on it with exactly ``crm_plugins`` enabled, and a settable clock.
- ``crm_app_factory``: more apps on the same database (other processes' view, other plugin sets).
- ``crm_cli``: run ``crm …`` in-process against that database; returns a result with ``exit_code``,
  ``stdout``, ``stderr`` and ``.json()``.
- ``crm_empty_database_url``: an empty database, for tests of ``crm init`` and migrations.

Helpers: :func:`outbox_events`, :func:`emit_event`, :func:`make_customer`, :func:`record_purchase`,
:class:`FrozenClock`, :func:`assert_migrations_match_models`, and :func:`panel_html` /
:func:`panel_text` / :func:`assert_persian_panel` (a plugin's customer-profile panel as the web page
and ``crm customers show`` render it, and what is wrong with it on a Persian page).
"""

from .helpers import (  # noqa: F401
    FrozenClock,
    assert_migrations_match_models,
    cheap_passwords,
    emit_event,
    make_customer,
    migration_differences,
    outbox_events,
    record_purchase,
)
from .panels import (  # noqa: F401,E402
    assert_persian_panel,
    panel_html,
    panel_text,
    persian_panel_problems,
)

#: the kernel's internals a plugin's tests drive (users, jobs, the demo, the web application),
#: imported when first asked for so that loading this pytest plugin stays cheap
_LAZY = {
    "run_jobs": "crmcore.jobs",
    "build_demo": "crmcore.demo",
    "cli": "crmcore.cli.main",
    "add_user": "crmcore.web.users",
    "create_token": "crmcore.web.users",
    "set_permission": "crmcore.web.users",
    "add_team": "crmcore.web.users",
    "set_membership": "crmcore.web.users",
    "update_user": "crmcore.web.users",
    "set_role_scope": "crmcore.services.access",
    "viewer_for": "crmcore.services.access",
    "enable_plugin": "crmcore.services.plugins",
    "installed_manifests": "crmcore.plugin_host",
    "import_customers": "crmcore.importing",
    "import_interactions": "crmcore.importing",
    "create_app": "crmcore.web.app",
    "WebSettings": "crmcore.web.settings",
    "AuditEntry": "crmcore.storage.models",
    "save_segment": "crmcore.services.customer_list",
    "assign_customer": "crmcore.services.access",
    "set_unassigned": "crmcore.services.access",
    "customer_timeline": ("crmcore.services.customer_view", "timeline"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name] if isinstance(_LAZY[name], tuple) else (_LAZY[name], name)
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'crmcore.testing' has no attribute {name!r}")
