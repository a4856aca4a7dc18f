from pathlib import Path

from crmcore.docs import hooks_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def test_hook_reference_is_generated_and_current():
    assert DOC.read_text(encoding="utf-8") == hooks_markdown(), "run: make docs"


def test_every_kernel_hook_is_documented():
    text = hooks_markdown()
    for name in ["crm_customer_created", "crm_interaction_recorded", "crm_reports", "crm_demo_seed",
                 "crm_customers_merged", "crm_customer_profile", "crm_search_fields"]:
        assert f"### `{name}(" in text
    assert "(undocumented)" not in text
