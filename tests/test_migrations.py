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


def test_the_ownership_migration_gives_customers_to_the_users_their_owner_names(
    crm_empty_database_url,
):
    """k0007 adds owner and team to customers without rebuilding the table (SQLite: ADD COLUMN, so
    their phones survive) and turns a free-text owner naming a user into that user's ownership."""
    from alembic import command
    from sqlalchemy import text

    from crmcore.storage.migrate import alembic_config

    app = CRM(crm_empty_database_url, plugins=[])
    with app.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "k0005_contacts")
        conn.execute(
            text(
                "INSERT INTO web_users (id, username, role, permissions, password_hash, "
                "active, created_at) VALUES (7, 'sara', 'agent', '{}', 'x', true, "
                "CURRENT_TIMESTAMP)"
            )
        )
        for cid, owner in ((1, " Sara "), (2, "someone else"), (3, None)):
            conn.execute(
                text(
                    "INSERT INTO customers (id, kind, display_name, search_key, owner, "
                    "consent_sms, consent_email, attributes, created_at, updated_at) "
                    "VALUES (:id, 'person', 'x', 'x', :owner, false, false, '{}', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": cid, "owner": owner},
            )
        conn.execute(
            text(
                "INSERT INTO customer_phones (customer_id, e164, kind, position) "
                "VALUES (1, '+989121234567', 'mobile', 0)"
            )
        )
    assert app.init() == ["kernel"]
    with app.engine.connect() as conn:
        owners = conn.execute(text("SELECT id, owner_id, team_id FROM customers ORDER BY id")).all()
        phones = conn.execute(text("SELECT count(*) FROM customer_phones")).scalar()
    assert [tuple(r) for r in owners] == [(1, 7, None), (2, None, None), (3, None, None)]
    assert phones == 1
    app.dispose()


def test_k0008_counts_the_stored_name_tokens_and_indexes_the_stored_phones(crm_empty_database_url):
    from alembic import command
    from sqlalchemy import text

    from crmcore.services.search import search_customers
    from crmcore.storage.migrate import alembic_config

    app = CRM(crm_empty_database_url, plugins=[])
    with app.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "k0005_contacts")
        for cid, name, e164 in [
            (1, "علی کریمی", "+989121234567"),
            (2, "علی رضایی", "+989351234567"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO customers (id, kind, display_name, search_key, consent_sms, "
                    "consent_email, attributes, created_at, updated_at) VALUES (:id, 'person', :name, "
                    ":name, false, false, '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"id": cid, "name": name},
            )
            conn.execute(
                text(
                    "INSERT INTO customer_phones (customer_id, e164, kind, position) "
                    "VALUES (:id, :e164, 'mobile', 0)"
                ),
                {"id": cid, "e164": e164},
            )
            for token in name.split(" ") + [name.replace(" ", "")]:
                conn.execute(
                    text(
                        "INSERT INTO customer_search_tokens (customer_id, token) VALUES (:id, :t)"
                    ),
                    {"id": cid, "t": token},
                )
    assert app.init() == ["kernel"]
    with app.engine.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT token, customers FROM customer_search_token_counts")).all()
        )
    assert counts == {"علی": 2, "کریمی": 1, "رضایی": 1, "علیکریمی": 1, "علیرضایی": 1}
    with app.unit_of_work(readonly=True) as uow:
        assert [r["id"] for r in search_customers(uow, "1234567").results] == [1, 2]
        assert [r["id"] for r in search_customers(uow, "کریمی علی").results] == [1]
    app.dispose()
