from sqlalchemy import inspect

from crmcore.api import CRM
from crmcore.testing import assert_migrations_match_models


def test_kernel_migrations_match_the_models(crm_app):
    assert_migrations_match_models(crm_app, "kernel")


def test_init_creates_the_schema_and_is_idempotent(crm_empty_database_url):
    app = CRM(crm_empty_database_url, plugins=[])
    assert app.init() == ["kernel"]
    assert app.init() == ["kernel"]
    tables = set(inspect(app.engine).get_table_names())
    assert {"customers", "interactions", "outbox", "audit_log", "crm_plugins"} <= tables
    app.dispose()
