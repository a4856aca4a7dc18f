"""The demo's referrals: a referral program, and a few demo customers brought by others."""

from __future__ import annotations

from importlib.resources import files

from sqlalchemy import select

from crmcore.api import Interaction

from . import program, service


def seed(uow, customers, rng) -> list[str]:
    text = (
        files("crmcore_referrals.examples").joinpath("referrals.toml").read_text(encoding="utf-8")
    )
    program.load(uow, text, source_name="referrals.toml")
    buyers = set(
        uow.session.scalars(select(Interaction.customer_id).where(Interaction.kind == "purchase"))
    )
    newcomers = [c for c in customers if c.id not in buyers]
    members = [c for c in customers if c.id in buyers]
    attached = 0
    for friend in newcomers[:8]:
        referrer = rng.choice(members) if members else None
        if referrer is None:
            break
        try:
            service.attach(uow, friend, service.code_of(uow, referrer.id), source="staff")
            attached += 1
        except Exception:  # noqa: BLE001 - a demo pairing an abuse check refuses is simply skipped
            continue
    return [f"referrals: program loaded, {attached} demo friends attached"]
