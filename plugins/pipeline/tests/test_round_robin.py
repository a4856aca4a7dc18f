from collections import Counter

import pytest
from crmcore_pipeline import service
from crmcore_pipeline.models import Deal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.api import NotFound, ValidationError


def assign(app, n):
    """Create ``n`` leads, each assigned by round-robin; return the owners in order."""
    owners = []
    for i in range(n):
        with app.unit_of_work() as uow:
            lead = service.create_lead(uow, title=f"L{i}", source="website", contact_name="x")
            owners.append(lead.owner.username if lead.owner else None)
    return owners


def test_round_robin_takes_turns_in_order(crm_app, run):
    for user in ("ali", "sara", "reza"):
        run(service.add_rep, user, user.title())
    assert assign(crm_app, 7) == ["ali", "sara", "reza", "ali", "sara", "reza", "ali"]


def test_deactivated_reps_are_skipped_and_a_returning_rep_gets_the_turn_they_waited_for(
    crm_app, run
):
    for user in ("ali", "sara", "reza"):
        run(service.add_rep, user, user)
    assert assign(crm_app, 2) == ["ali", "sara"]
    run(service.set_rep_active, "reza", False)
    assert assign(crm_app, 4) == ["ali", "sara", "ali", "sara"]
    run(
        service.set_rep_active, "reza", True
    )  # reza waited longest: his turn comes first, then the cycle
    assert assign(crm_app, 3) == ["reza", "ali", "sara"]


def test_a_new_rep_takes_the_next_turn_then_joins_the_cycle(crm_app, run):
    run(service.add_rep, "ali", "a")
    run(service.add_rep, "sara", "s")
    assert assign(crm_app, 3) == ["ali", "sara", "ali"]
    run(service.add_rep, "niloofar", "n")
    assert assign(crm_app, 4) == ["niloofar", "sara", "ali", "niloofar"]


def test_explicit_owners_do_not_use_up_a_turn(crm_app, run):
    run(service.add_rep, "ali", "a")
    run(service.add_rep, "sara", "s")
    assert assign(crm_app, 1) == ["ali"]
    with crm_app.unit_of_work() as uow:
        lead = service.create_lead(uow, title="x", source="phone", contact_name="y", owner="ali")
        assert lead.owner.username == "ali"
    assert assign(crm_app, 2) == ["sara", "ali"]


def test_deals_are_assigned_the_same_way_and_inactive_owners_are_refused(crm_app, run, count):
    from crmcore.testing import make_customer

    cid = make_customer(crm_app)
    with crm_app.unit_of_work() as uow:
        assert service.create_deal(uow, customer=cid, title="no reps yet").owner is None
    run(service.add_rep, "ali", "a")
    run(service.add_rep, "sara", "s")
    with crm_app.unit_of_work() as uow:
        owners = [
            service.create_deal(uow, customer=cid, title=str(i)).owner.username for i in range(3)
        ]
        unassigned = service.create_deal(uow, customer=cid, title="manual", round_robin=False).owner
    assert owners == ["ali", "sara", "ali"] and unassigned is None
    run(service.set_rep_active, "sara", False)
    with pytest.raises(ValidationError, match="'sara' is inactive") as err:
        run(service.create_deal, customer=cid, title="x", owner="sara")
    assert err.value.field == "owner" and count(Deal) == 5
    with pytest.raises(NotFound, match="unknown sales rep 'nima' \\(reps: ali, sara\\)"):
        run(service.set_rep_active, "nima", True)
    with pytest.raises(ValidationError, match="not a username"):
        run(service.add_rep, "علی رضا", "x")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reps=st.integers(min_value=1, max_value=5),
    leads=st.integers(min_value=0, max_value=16),
    explicit=st.lists(st.integers(min_value=0, max_value=15), max_size=4),
)
def test_round_robin_is_fair_for_any_team_and_volume(crm_app, run, reps, leads, explicit):
    """However many reps and leads, and wherever explicit assignments fall in between, the round-robin
    leads differ by at most one between any two active reps."""
    with crm_app.unit_of_work() as uow:  # each example gets a fresh team: retire the previous one
        for rep in service.list_reps(uow):
            service.set_rep_active(uow, rep.username, False)
        team = [
            service.add_rep(uow, f"u{len(service.list_reps(uow))}", "x").username
            for _ in range(reps)
        ]
    owners = []
    for i in range(leads):
        if i in explicit:
            run(service.create_lead, title="e", source="phone", contact_name="y", owner=team[0])
        owners.extend(assign(crm_app, 1))
    turns = Counter(owners)
    counts = [turns.get(user, 0) for user in team]
    assert sum(counts) == leads
    assert max(counts) - min(counts) <= 1
