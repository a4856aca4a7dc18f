"""Customer merges and forgetting: transfers, recipients and family memberships follow the kept customer."""
from __future__ import annotations

from sqlalchemy import select, update

from .models import ApprovedRecipient, FamilyInvitation, FamilyMember, Transfer


def merge_members(uow, kept, merged) -> None:
    """Re-point the merged customer's transfers, registrations and family membership to the kept one.

    History keeps its amounts; a registration or membership the kept customer already has wins (the merged
    one's is dropped), and registrations of one with themselves are dropped.
    """
    session = uow.session
    for column in (Transfer.sender_id, Transfer.recipient_id):
        session.execute(update(Transfer).where(column == merged.id).values({column.key: kept.id}))
    for row in list(session.scalars(select(ApprovedRecipient).where(
            (ApprovedRecipient.sender_id == merged.id) | (ApprovedRecipient.recipient_id == merged.id)))):
        sender = kept.id if row.sender_id == merged.id else row.sender_id
        recipient = kept.id if row.recipient_id == merged.id else row.recipient_id
        clash = session.scalar(select(ApprovedRecipient.id).where(
            ApprovedRecipient.sender_id == sender, ApprovedRecipient.recipient_id == recipient,
            ApprovedRecipient.id != row.id))
        if sender == recipient or clash is not None:
            session.delete(row)
        else:
            row.sender_id, row.recipient_id = sender, recipient
    theirs = session.scalar(select(FamilyMember).where(FamilyMember.customer_id == merged.id))
    if theirs is not None:
        mine = session.scalar(select(FamilyMember).where(FamilyMember.customer_id == kept.id))
        if mine is None:
            theirs.customer_id = kept.id
        else:
            session.delete(theirs)
    session.execute(update(FamilyInvitation).where(FamilyInvitation.customer_id == merged.id)
                    .values(customer_id=kept.id))
    session.execute(update(FamilyInvitation).where(FamilyInvitation.invited_by_id == merged.id)
                    .values(invited_by_id=kept.id))
    session.flush()


def forget_member(uow, customer) -> None:
    """Erase the free text the plugin holds about a forgotten customer: notes on their transfers and
    registrations. Amounts, dates and statuses stay (anonymised by the kernel's forgetting of the customer)."""
    session = uow.session
    session.execute(update(Transfer).where(
        (Transfer.sender_id == customer.id) | (Transfer.recipient_id == customer.id)).values(note=None))
    session.execute(update(ApprovedRecipient).where(
        (ApprovedRecipient.sender_id == customer.id) | (ApprovedRecipient.recipient_id == customer.id))
        .values(note=None))
