import pytest
from crmcore_pipeline import service
from crmcore_pipeline.models import Deal, Lead

from crmcore.api import Conflict, Customer, NotFound, ValidationError
from crmcore.testing import make_customer, outbox_events


def lead_state(app, lead_id):
    with app.unit_of_work(readonly=True) as uow:
        return service.lead_to_dict(uow, uow.session.get(Lead, lead_id))


def test_a_lead_converts_into_a_new_customer_and_a_deal_with_its_source(crm_app, run, count, at):
    run(service.add_rep, "sara", "سارا احمدی")
    at(2025, 4, 1, 9)
    lid = run(
        service.create_lead,
        title="خرید عمده زعفران",
        source="نمایشگاه",
        contact_name="کامران صالحی",
        phone="۰۹۳۵ ۱۲۳ ۴۵۶۷",
        email="Kamran@Example.ir",
        company="پخش البرز",
        note="غرفه ۱۲",
    )
    lead = lead_state(crm_app, lid)
    assert (lead["source"], lead["phone"], lead["email"], lead["owner"], lead["status"]) == (
        "exhibition",
        "+989351234567",
        "kamran@example.ir",
        "sara",
        "new",
    )
    converted = at(2025, 4, 2, 9)
    with crm_app.unit_of_work() as uow:
        lead_obj, deal, created = service.convert_lead(
            uow, lid, amount="80,000,000", expected_close="1404-02-10"
        )
        did, cid = deal.id, deal.customer_id
    assert created is True
    with crm_app.unit_of_work(readonly=True) as uow:
        customer = uow.session.get(Customer, cid)
        assert customer.display_name == "کامران صالحی"
        assert [p.e164 for p in customer.phones] == ["+989351234567"]
        assert [e.email for e in customer.emails] == ["kamran@example.ir"]
        deal = uow.session.get(Deal, did)
        assert (
            deal.title,
            deal.source.code,
            deal.owner.username,
            deal.lead_id,
            deal.amount_minor,
        ) == ("خرید عمده زعفران", "exhibition", "sara", lid, 80_000_000)
    lead = lead_state(crm_app, lid)
    assert (lead["status"], lead["deal_id"], lead["customer_id"], lead["closed_at"]) == (
        "converted",
        did,
        cid,
        converted.isoformat(),
    )
    assert [e["event"] for e in outbox_events(crm_app)] == [
        "pipeline_lead_created",
        "crm_customer_created",
        "pipeline_deal_stage_changed",
    ]
    with pytest.raises(Conflict, match=f"lead {lid} was already converted \\(deal {did}\\)"):
        run(service.convert_lead, lid)
    assert count(Deal) == 1 and count(Customer) == 1


def test_conversion_reuses_the_customer_with_the_leads_phone(crm_app, run, count):
    cid = make_customer(crm_app, "مریم رضایی", phones=["09121112233"])
    lid = run(
        service.create_lead,
        title="T",
        source="phone",
        contact_name="مریم",
        phone="+98 912 111 2233",
    )
    with crm_app.unit_of_work() as uow:
        _, deal, created = service.convert_lead(uow, lid, stage="contact")
        assert (deal.customer_id, created, deal.stage.code) == (cid, False, "contact")
    assert count(Customer) == 1


def test_a_lead_of_a_known_customer_or_an_explicit_one(crm_app, run):
    known = make_customer(crm_app, "علی", phones=["09120000001"])
    other = make_customer(crm_app, "رضا", phones=["09120000002"])
    lid = run(service.create_lead, title="T", source="referral", customer="09120000001")
    assert lead_state(crm_app, lid)["customer_id"] == known
    lid2 = run(service.create_lead, title="T2", source="social", company="هتل پارسیان")
    with crm_app.unit_of_work() as uow:
        assert service.convert_lead(uow, lid, title="قرارداد سالانه")[1].customer_id == known
        assert service.convert_lead(uow, lid2, customer=str(other))[1].customer_id == other


def test_a_company_lead_becomes_an_organisation(crm_app, run):
    lid = run(service.create_lead, title="T", source="website", company="شرکت پخش البرز")
    with crm_app.unit_of_work() as uow:
        _, deal, created = service.convert_lead(uow, lid)
        customer = uow.session.get(Customer, deal.customer_id)
        assert (created, customer.kind, customer.display_name) == (
            True,
            "organisation",
            "شرکت پخش البرز",
        )


@pytest.mark.parametrize(
    "fields, error, field, message",
    [
        (
            {"source": "billboard"},
            NotFound,
            "source",
            "unknown lead source 'billboard' (sources: website, referral",
        ),
        ({"source": ""}, ValidationError, "source", "needs a source"),
        ({"contact_name": None}, ValidationError, "contact_name", "needs someone to reach"),
        ({"phone": "12345"}, ValidationError, "phone", "phone"),
        ({"email": "ali@"}, ValidationError, "email", "email"),
        ({"title": ""}, ValidationError, "title", "a title is required"),
        ({"customer": "77"}, NotFound, "customer", "no customer matches"),
    ],
)
def test_bad_lead_input_is_refused_and_nothing_is_stored(
    crm_app, count, fields, error, field, message
):
    args = {"title": "T", "source": "website", "contact_name": "سارا", **fields}
    with pytest.raises(error) as err:
        with crm_app.unit_of_work() as uow:
            service.create_lead(uow, **args)
    assert err.value.field == field and message in str(err.value)
    assert count(Lead) == 0 and outbox_events(crm_app) == []


def test_a_disqualified_lead_needs_a_reason_and_cannot_be_converted(crm_app, run, count):
    lid = run(service.create_lead, title="T", source="campaign", contact_name="X")
    with pytest.raises(ValidationError, match="say why") as err:
        run(service.disqualify_lead, lid, reason=" ")
    assert err.value.field == "reason" and lead_state(crm_app, lid)["status"] == "new"
    run(service.disqualify_lead, lid, reason="بودجه ندارد")
    with pytest.raises(Conflict, match="was disqualified \\(بودجه ندارد\\)"):
        run(service.convert_lead, lid)
    assert count(Deal) == 0 and count(Customer) == 0


def test_a_failing_conversion_creates_no_customer(crm_app, run, count):
    lid = run(
        service.create_lead, title="T", source="website", contact_name="نرگس", phone="09351110000"
    )
    with pytest.raises(ValidationError, match="cannot be negative"):
        run(service.convert_lead, lid, amount="-1")
    assert count(Customer) == 0 and count(Deal) == 0 and lead_state(crm_app, lid)["status"] == "new"


def test_custom_sources_and_listing(crm_app, run):
    run(service.add_source, "instagram", "اینستاگرام", name_en="Instagram")
    run(service.create_lead, title="A", source="instagram", contact_name="x")
    run(service.create_lead, title="B", source="Website", contact_name="y")
    with crm_app.unit_of_work() as uow:
        assert [lead.title for lead in service.list_leads(uow, source="اینستاگرام")] == ["A"]
        assert [lead.title for lead in service.list_leads(uow)] == ["A", "B"]
        assert service.list_leads(uow, status="converted") == []
    with pytest.raises(Conflict, match="already exists"):
        run(service.add_source, "instagram", "x")
