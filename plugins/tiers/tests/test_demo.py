"""The tiers part of `crm demo`.

Adding the demo ladder to the demo's loyalty program needs ``crmcore_loyalty.api.load_program`` (asked of
loyalty). Until loyalty's public API has it, the demo says so in its summary; the second test shows what the
demo does once it is there, by lending loyalty's own loader to its API for the test."""

import pytest
from sqlalchemy import func, select

from crmcore.api import CRM
from crmcore.testing import build_demo


def test_demo_summary_line(tmp_path):
    from crmcore_loyalty import api as loyalty

    result = build_demo(tmp_path / "demo.db", customers=20)
    [line, *rest] = [x for x in result["lines"] if x.startswith("tiers:")]
    if not hasattr(loyalty, "load_program"):
        assert "skipped" in line and "api.load_program" in line and "ladder.toml" in line
    else:
        assert "members enrolled" in line


def test_demo_with_a_ladder(tmp_path, monkeypatch):
    from crmcore_loyalty import api as loyalty

    if not hasattr(loyalty, "load_program"):
        from crmcore_loyalty.programs import load_program

        monkeypatch.setattr(loyalty, "load_program", load_program, raising=False)
    result = build_demo(tmp_path / "demo.db", customers=30)
    lines = [x for x in result["lines"] if x.startswith("tiers:")]
    assert "members enrolled" in lines[0] and "قرمز / نقره‌ای / طلایی" in lines[0]
    assert "reached Gold with a live purchase" in lines[0]
    app = CRM(f"sqlite:///{tmp_path / 'demo.db'}")
    from crmcore_tiers.models import TierChange, TierMember

    with app.unit_of_work(readonly=True) as uow:
        tiers = dict(
            uow.session.execute(
                select(TierMember.tier, func.count()).group_by(TierMember.tier)
            ).all()
        )
        from crmcore.api import Interaction

        buyers = uow.session.scalar(
            select(func.count(func.distinct(Interaction.customer_id))).where(
                Interaction.kind == "purchase"
            )
        )
        # every customer who bought is a member (other demos add buyers beyond the 30)
        assert sum(tiers.values()) == buyers >= 30
        assert tiers.get("gold", 0) >= 1 and tiers.get("silver", 0) >= 1
        ups = uow.session.scalar(
            select(func.count()).select_from(TierChange).where(TierChange.direction == "up")
        )
        assert ups >= tiers.get("silver", 0) + tiers.get("gold", 0)
    app.dispose()


@pytest.fixture(autouse=True)
def _demo_plugins(monkeypatch):
    monkeypatch.setenv("CRMCORE_PLUGINS_ONLY", "loyalty,tiers")
