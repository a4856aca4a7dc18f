"""The loyalty part of the customer profile, and the ``points`` search field (``--where points>=500``)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from crmcore.api import Customer, ProfileSection, SearchField, ValidationError, compare, to_ascii_digits

from .ledger import entry_to_dict, ledger, lots
from .models import LoyaltyAccount
from .programs import active_program


def profile_section(uow, customer) -> ProfileSection | None:
    account = uow.session.get(LoyaltyAccount, customer.id)
    if account is None:
        return None
    program = active_program(uow)
    horizon = uow.now() + timedelta(days=program.expiry_warning_days or 30)
    soon = [{"points": lot.remaining, "expires_at": lot.expires_at.isoformat()}
            for lot in lots(uow, customer.id) if lot.expires_at is not None and lot.expires_at <= horizon]
    return ProfileSection(
        key="loyalty", title="Loyalty", title_fa="باشگاه مشتریان", order=40,
        data={"balance": account.balance, "owed": account.owed,
              "expiring_soon": soon, "expiring_within_days": program.expiry_warning_days or 30,
              "last_entries": [{k: v for k, v in entry_to_dict(e).items() if k in
                                ("seq", "kind", "points", "balance_after", "reason", "occurred_at")}
                               for e in ledger(uow, customer.id, limit=5, newest_first=True)]})


def _points_condition(op: str, value: str):
    try:
        n = int(to_ascii_digits(value).replace(",", ""))
    except ValueError:
        raise ValidationError(f"{value!r} is not a whole number of points", field="points") from None
    if op == "~":
        raise ValidationError("points takes =, !=, >, >=, < or <=", field="points")
    members = Customer.id.in_(select(LoyaltyAccount.customer_id).where(compare(LoyaltyAccount.balance, op, n)))
    if compare(0, op, n):  # customers without an account have 0 points
        return or_(members, Customer.id.not_in(select(LoyaltyAccount.customer_id)))
    return members


POINTS_FIELD = SearchField(name="points", description="loyalty points balance", condition=_points_condition,
                           type="int", ops=("=", "!=", ">", ">=", "<", "<="))
