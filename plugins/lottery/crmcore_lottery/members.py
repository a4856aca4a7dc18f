"""Members' lottery codes: eight random digits per customer, made when first needed (an entry, a
close, the profile), shown on the member's card and in messages, and used as the participant of the
published entry lists instead of the internal customer id."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select

from crmcore.api import Customer

from .models import LotteryMember

LOW, SPAN = 10_000_000, 90_000_000  # eight digits, never a leading zero


def format_code(code: int | None, persian: bool = False) -> str:
    """``4827-1635``, or ``۴۸۲۷ ۱۶۳۵`` for Persian readers (a dash would read as a date): two
    groups of four are easy to read out."""
    if code is None:
        return "—"
    from crmcore.api import to_persian_digits

    if not persian:
        return f"{str(code)[:4]}-{str(code)[4:]}"
    # isolated left to right (LRI … PDI), so a right-to-left line does not swap the two groups
    return f"\u2066{to_persian_digits(str(code)[:4])} {to_persian_digits(str(code)[4:])}\u2069"


def parse_code(text: str) -> int | None:
    from crmcore.api import to_ascii_digits

    digits = "".join(ch for ch in to_ascii_digits(text or "") if ch.isdigit())
    return int(digits) if len(digits) == 8 and digits[0] != "0" else None


def codes_of(uow, customer_ids: list[int] | set[int], *, create: bool = True) -> dict[int, int]:
    """``{customer id: code}``, making the missing codes (unless ``create`` is false)."""
    ids = sorted(set(customer_ids))
    found: dict[int, int] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update(
            uow.session.execute(
                select(LotteryMember.customer_id, LotteryMember.code).where(
                    LotteryMember.customer_id.in_(chunk)
                )
            ).all()
        )
    missing = [cid for cid in ids if cid not in found]
    if not missing or not create:
        return found
    taken: set[int] = set()
    while len(taken) < len(missing):
        taken.update(LOW + secrets.randbelow(SPAN) for _ in range(len(missing) - len(taken)))
        clash = set()
        candidates = sorted(taken)
        for start in range(0, len(candidates), 1000):
            clash.update(
                uow.session.scalars(
                    select(LotteryMember.code).where(
                        LotteryMember.code.in_(candidates[start : start + 1000])
                    )
                )
            )
        taken -= clash
    now = uow.now()
    rows = [
        {"customer_id": cid, "code": code, "created_at": now} for cid, code in zip(missing, taken)
    ]
    for start in range(0, len(rows), 2000):
        uow.session.execute(insert(LotteryMember), rows[start : start + 2000])
    found.update({r["customer_id"]: r["code"] for r in rows})
    return found


def code_of(uow, customer_id: int, *, create: bool = True) -> int | None:
    return codes_of(uow, [customer_id], create=create).get(customer_id)


def holders(uow, codes: list[int]) -> dict[int, int]:
    """Lottery code → the customer holding it now (a merged member's code goes to the kept
    customer)."""
    out: dict[int, int] = {}
    rows = dict(
        uow.session.execute(
            select(LotteryMember.code, LotteryMember.customer_id).where(
                LotteryMember.code.in_(list(set(codes)))
            )
        ).all()
    )
    for code in codes:
        cid = rows.get(code)
        for _ in range(20):
            c = uow.session.get(Customer, cid) if cid is not None else None
            if c is None or c.merged_into_id is None:
                break
            cid = c.merged_into_id
        out[code] = cid
    return out
