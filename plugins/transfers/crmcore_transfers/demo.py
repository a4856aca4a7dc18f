"""The transfers part of ``crm demo``: a family group formed a month ago, a club-approved colleague, and
transfers through every path (accepted, declined, still pending)."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from importlib import resources

from crmcore_loyalty import api as loyalty

from crmcore.api import Customer

from . import family, recipients, service
from .policy import Policy, validate_section


def sample_policy() -> Policy:
    text = (
        resources.files("crmcore_transfers.examples")
        .joinpath("transfers.toml")
        .read_text(encoding="utf-8")
    )
    return validate_section(tomllib.loads(text)["transfers"])


def seed(uow, customers, rng) -> list[str]:
    configured = loyalty.active_program(uow).sections.get("transfers")
    if configured is None:  # add the sample policy to the club's program, as a business would
        config = dict(loyalty.active_program(uow).config)
        text = (
            resources.files("crmcore_transfers.examples")
            .joinpath("transfers.toml")
            .read_text(encoding="utf-8")
        )
        config["transfers"] = tomllib.loads(text)["transfers"]
        import tomli_w

        program, _created = loyalty.load_program(
            uow, tomli_w.dumps(config), source_name="program+transfers.toml"
        )
        configured = program.sections.get("transfers")
    policy = configured or sample_policy()
    ids = [c.id for c in customers if c.active]
    rich = sorted(ids, key=lambda cid: -loyalty.balance(uow, cid))
    if len(rich) < 5 or loyalty.balance(uow, rich[3]) < 2 * policy.min_points:
        return ["transfers: too few members with points for sample transfers"]
    head, spouse, child, colleague_from, colleague = rich[:5]
    surname = uow.session.get(Customer, head).display_name.split()[-1]
    group = family.create(uow, head, f"خانواده {surname}")
    for member in (spouse, child):
        family.invite(uow, head, member)
        family.accept(uow, member, group.id, max_members=policy.family_max_members)
    for member in family.members(
        uow, group.id
    ):  # the family was formed a month ago: past its cooling-off
        member.joined_at = uow.now() - timedelta(days=30)
    recipients.register(uow, colleague_from, colleague, "همکار")
    recipients.decide(uow, colleague_from, colleague, approve=True)

    def amount(sender: int, share: int) -> int:
        fee = policy.fee_for(loyalty.balance(uow, sender))
        return max(
            policy.min_points,
            min(policy.max_points or 10**9, (loyalty.balance(uow, sender) - fee) // share),
        )

    made = [
        service.send(
            uow, head, spouse, amount(head, 4), key="demo:gift:1", note="عیدی نوروز", policy=policy
        )[0],
        service.send(
            uow,
            colleague_from,
            colleague,
            amount(colleague_from, 5),
            key="demo:gift:2",
            note="بابت ناهار",
            policy=policy,
        )[0],
        service.send(uow, spouse, child, amount(spouse, 6), key="demo:gift:3", policy=policy)[0],
        service.send(uow, head, child, policy.min_points, key="demo:gift:4", policy=policy)[0],
    ]
    for transfer in made[:2]:
        if transfer.status == "pending":
            service.accept(uow, transfer.id)
    if made[2].status == "pending":
        service.decline(uow, made[2].id, "ممنون، لازم ندارم")
    moved = sum(t.points for t in made if t.status == "completed")
    fees = sum(t.fee for t in made if t.status == "completed")
    states = ", ".join(f"#{t.id} {t.status}" for t in made)
    lines = [
        f"transfers: family «{group.name}» with 3 members, customer {colleague} approved for "
        f"customer {colleague_from}; {len(made)} transfers ({states}), {moved:,} points moved, "
        f"{fees:,} points in fees"
    ]
    if configured is None:
        lines.append(
            "transfers: the demo used the sample policy (crm transfers policy --example); the loaded "
            "program has no «transfers» section, so new transfers are off until one is added"
        )
    return lines
