"""Who may receive: family groups (one per member, cooling-off) and approved recipients."""

import pytest
from crmcore_transfers import family, recipients
from transfers_helpers import balance, give, load_policy, send

from crmcore.api import Conflict, NotFound, ValidationError
from crmcore.testing import make_customer

FAMILY = 'recipients = "family"\nfamily_cooling_days = 14\nfamily_max_members = 3'


@pytest.fixture
def people(crm_app):
    return [make_customer(crm_app, n) for n in ("پدر", "مادر", "پسر", "همسایه")]


def run(app, fn, *args, **kwargs):
    with app.unit_of_work() as uow:
        return fn(uow, *args, **kwargs)


def family_of_three(app, people):
    dad, mom, son, _ = people
    fam = run(app, family.create, dad, "خانواده رضایی").id
    run(app, family.invite, dad, mom)
    run(app, family.accept, mom, None, max_members=3)
    run(app, family.invite, mom, son)
    run(app, family.accept, son, None, max_members=3)
    return fam


def test_family_transfers_open_after_the_cooling_off_period(crm_app, crm_cli, tmp_path, people):
    load_policy(crm_cli, tmp_path, FAMILY)
    dad, mom, son, neighbour = people
    family_of_three(crm_app, people)
    give(crm_app, dad, 500)
    with pytest.raises(ValidationError) as err:
        send(crm_app, dad, mom, 10)
    assert err.value.field == "recipient"
    assert (
        "joined the family «خانواده رضایی» on 2025-03-21; transfers within it open on 2025-04-04"
        in str(err.value)
    )
    crm_app.clock.advance(days=14)
    assert send(crm_app, dad, mom, 10)["circle"] == "family"
    with pytest.raises(
        ValidationError, match=f"customer {neighbour} is not in customer {dad}'s family group"
    ):
        send(crm_app, dad, neighbour, 10)
    assert balance(crm_app, dad) == 490


def test_a_member_belongs_to_one_family_and_groups_have_a_size_cap(crm_app, people):
    dad, mom, son, neighbour = people
    family_of_three(crm_app, people)
    other = run(crm_app, family.create, neighbour, "خانواده کریمی").id
    with pytest.raises(Conflict, match="already belongs to the family «خانواده رضایی»"):
        run(crm_app, family.invite, neighbour, son)
    with pytest.raises(Conflict, match="already belongs to the family"):
        run(crm_app, family.create, mom, "دوم")
    run(crm_app, family.leave, neighbour)  # the Karimi group is dissolved
    with pytest.raises(NotFound, match=f"no family group with id {other} \\(it was dissolved\\)"):
        run(crm_app, family.get_family, other)
    run(crm_app, family.invite, son, neighbour)
    with pytest.raises(Conflict, match="already has 3 members"):
        run(crm_app, family.accept, neighbour, None, max_members=3)


def test_the_owner_leaving_passes_ownership_and_invitations_can_be_declined(crm_app, people):
    dad, mom, son, neighbour = people
    fam = family_of_three(crm_app, people)
    run(crm_app, family.leave, dad)
    with crm_app.unit_of_work(readonly=True) as uow:
        data = family.family_to_dict(uow, family.get_family(uow, fam))
    assert data["owner_id"] == mom
    assert [(m["customer_id"], m["role"]) for m in data["members"]] == [
        (mom, "owner"),
        (son, "member"),
    ]
    run(crm_app, family.invite, son, neighbour)
    run(crm_app, family.decline, neighbour, fam)
    with pytest.raises(NotFound, match="has no open invitation"):
        run(crm_app, family.accept, neighbour, None, max_members=6)
    with pytest.raises(NotFound, match="is not in a family group"):
        run(crm_app, family.leave, dad)


def test_approved_recipients_need_the_clubs_approval(crm_app, crm_cli, tmp_path, people):
    load_policy(crm_cli, tmp_path, 'recipients = ["family", "approved"]')
    dad, _, _, neighbour = people
    give(crm_app, dad, 100)
    run(crm_app, recipients.register, dad, neighbour, "همکار")
    with pytest.raises(
        ValidationError,
        match="not an approved recipient of customer 1; customer 1 is not in a family",
    ):
        send(crm_app, dad, neighbour, 10)
    run(crm_app, recipients.decide, dad, neighbour, approve=True)
    assert send(crm_app, dad, neighbour, 10)["circle"] == "approved"
    run(crm_app, recipients.decide, dad, neighbour, approve=False)
    with pytest.raises(ValidationError, match="outside the allowed circle"):
        send(crm_app, dad, neighbour, 10)
    with pytest.raises(ValidationError, match="cannot register themselves"):
        run(crm_app, recipients.register, dad, dad)
