from crmcore.testing import assert_migrations_match_models


def test_migrations_create_exactly_the_models(crm_app):
    assert_migrations_match_models(crm_app, "pipeline")
