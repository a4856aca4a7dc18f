"""Tests of the {{ cookiecutter.plugin_name }} plugin on crmcore.testing's fixtures (SQLite, and PostgreSQL when
CRM_TEST_DATABASE_URL is set)."""
{% set events = cookiecutter.handles_events.split(",") | map("trim") | select | list -%}
from crmcore.testing import make_customer, record_purchase


def test_the_plugin_is_installed_and_enabled(crm_cli):
    plugins = {p["name"]: p for p in crm_cli("plugins", "list", "--json").json()}
    assert plugins["{{ cookiecutter.plugin_name }}"]["enabled"] is True
    assert "crm_customer_profile" in plugins["{{ cookiecutter.plugin_name }}"]["hooks"]

{% if cookiecutter.has_tables == "yes" %}
def test_migrations_match_models(crm_app):
    from crmcore.testing import assert_migrations_match_models

    assert_migrations_match_models(crm_app, "{{ cookiecutter.plugin_name }}")

{% if "customer_created" in events %}
def test_a_new_customer_is_noted_and_shown(crm_app, crm_cli):
    cid = make_customer(crm_app, "نرگس یزدانی", phones=["09121234567"])
    data = crm_cli("{{ cookiecutter.plugin_name }}", "show", "09121234567", "--json").json()
    assert data == {"customer_id": cid, "events": {"customer_created": 1}}
    profile = crm_cli("customers", "show", str(cid), "--json").json()
    assert profile["sections"]["{{ cookiecutter.plugin_name }}"]["events"]["customer_created"] == 1

{% endif %}{% if "interaction_recorded" in events %}
def test_interactions_are_counted_and_follow_a_merge(crm_app, crm_cli):
    a = make_customer(crm_app, "Sara")
    b = make_customer(crm_app, "Sara A.")
    record_purchase(crm_app, b, 1000)
    assert crm_cli("customers", "merge", str(a), str(b)).exit_code == 0
    data = crm_cli("{{ cookiecutter.plugin_name }}", "show", str(a), "--json").json()
    assert data["events"]["interaction_recorded"] == 1

{% endif %}{% endif %}
def test_unknown_customer_is_a_clear_error(crm_cli):
    result = crm_cli("{{ cookiecutter.plugin_name }}", "show", "424242")
    assert result.exit_code == 1
    assert "424242" in result.stderr
