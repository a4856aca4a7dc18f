from pathlib import Path

from crmcore.docs import hooks_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def test_hook_reference_is_generated_and_current():
    assert DOC.read_text(encoding="utf-8") == hooks_markdown(), "run: make docs"


def test_every_kernel_hook_is_documented():
    text = hooks_markdown()
    for name in [
        "crm_customer_created",
        "crm_interaction_recorded",
        "crm_reports",
        "crm_demo_seed",
        "crm_customers_merged",
        "crm_customer_profile",
        "crm_search_fields",
    ]:
        assert f"### `{name}(" in text
    assert "(undocumented)" not in text


def test_the_pictures_the_docs_show_exist_and_stay_small():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    shown = set()
    for doc in (root / "README.md", root / "docs" / "web.md"):
        for target in re.findall(
            r"\]\(((?:docs/)?img/[\w.-]+\.png)\)", doc.read_text(encoding="utf-8")
        ):
            shown.add((doc.parent / target).resolve())
    assert len(shown) == 6, sorted(shown)
    assert all(p.exists() for p in shown), [str(p) for p in shown if not p.exists()]
    assert sum(p.stat().st_size for p in shown) < 700_000
