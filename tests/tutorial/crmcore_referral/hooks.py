"""The referral plugin's hook implementations."""

from crmcore.api import AttributeSpec, hookimpl, ui

from . import service


@hookimpl
def crm_customer_attributes():
    return [AttributeSpec("referred_by", "int", help="id of the customer who brought this one")]


@hookimpl
def crm_validate_customer(uow, customer, changes):
    return service.check_referrer(uow, customer, service.referrer_of(customer))


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if (
        interaction.kind == "purchase"
        and customer is not None
        and service.referrer_of(customer) is not None
    ):
        if service.is_first_purchase(uow, interaction):
            service.reward(uow, customer)


@hookimpl
def crm_customer_profile(uow, customer):
    data = service.referrals(uow, customer.id)
    if not data["rewarded_referrals"]:
        return None
    return ui.Panel(
        key="referral",
        title=ui.Label("Referrals", "معرفی‌ها"),
        data=data,
        items=[
            ui.Stat(
                ui.Label("Friends who bought", "دوستانی که خرید کردند"),
                data["rewarded_referrals"],
                kind="number",
            ),
            ui.Stat(ui.Label("Points earned", "امتیاز کسب‌شده"), data["points"], kind="number"),
        ],
    )
