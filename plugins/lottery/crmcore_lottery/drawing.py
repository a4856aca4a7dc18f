"""The draw (reveal the seed, pick the winners from the frozen list), its verification, and the exported proof."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crmcore.api import Conflict, Customer, OutboxEvent, ValidationError, format_datetime

from . import proof
from .campaigns import draw_spec
from .members import format_code
from .models import LotteryCampaign, LotteryFrozenEntry, LotteryPrize, LotteryWinner

PROOF_FORMAT = "crmcore-lottery-proof-v1"


def frozen_entries(uow, campaign: LotteryCampaign) -> list[proof.FrozenEntry]:
    rows = uow.session.execute(
        select(
            LotteryFrozenEntry.position, LotteryFrozenEntry.participant, LotteryFrozenEntry.weight
        )
        .where(LotteryFrozenEntry.campaign_id == campaign.id)
        .order_by(LotteryFrozenEntry.position)
    )
    return [proof.FrozenEntry(int(p), int(c), int(w)) for p, c, w in rows]


def frozen_document(uow, campaign: LotteryCampaign) -> str:
    if campaign.status == "open":
        raise Conflict(
            f"campaign {campaign.name!r} is still open: its entry list is frozen when it closes",
            field="campaign",
        )
    return proof.frozen_document(draw_spec(campaign), frozen_entries(uow, campaign))


def winners(uow, campaign: LotteryCampaign) -> list[LotteryWinner]:
    return list(
        uow.session.scalars(
            select(LotteryWinner)
            .where(LotteryWinner.campaign_id == campaign.id)
            .order_by(LotteryWinner.slot)
        )
    )


# -- the draw -----------------------------------------------------------------------------------------------
def earliest_draw(uow, campaign: LotteryCampaign):
    """The first moment the campaign may be drawn: its draw time, and at least the minimum gap
    (``crm lottery settings --min-draw-gap``) after it closed, so the hashes are public first."""
    from .settings import min_draw_gap

    moment = campaign.draw_at
    if campaign.closed_at is not None:
        moment = max(moment, campaign.closed_at + min_draw_gap(uow))
    return moment


def draw_campaign(
    uow, campaign: LotteryCampaign, *, seed: str | None = None, now=None
) -> dict[str, Any]:
    """Reveal the seed and draw the winners of a closed campaign (locked by the caller); ``now``:
    the moment of the draw (the job's ``--now``), by default the clock's."""
    calendar, tz = uow.app.calendar, uow.app.timezone
    if campaign.status == "open":
        raise Conflict(
            f"campaign {campaign.name!r} is still open: close it first (crm lottery close "
            f"{campaign.name}) so its entry list is frozen and published",
            field="campaign",
        )
    if campaign.status == "drawn":
        raise Conflict(
            f"campaign {campaign.name!r} was already drawn on "
            f"{format_datetime(campaign.drawn_at, calendar, tz=tz)}",
            field="campaign",
        )
    now = now or uow.now()
    if now < campaign.draw_at:
        raise ValidationError(
            f"the draw of {campaign.name!r} is set for "
            f"{format_datetime(campaign.draw_at, calendar, tz=tz)} in the official rules",
            field="campaign",
        )
    if now < earliest_draw(uow, campaign):
        from .settings import gap_text, min_draw_gap

        closed = format_datetime(campaign.closed_at, calendar, tz=tz)
        until = format_datetime(earliest_draw(uow, campaign), calendar, tz=tz)
        raise ValidationError(
            f"campaign {campaign.name!r} closed on {closed}; the draw waits at least "
            f"{gap_text(min_draw_gap(uow))} after closing (until {until}) so the published "
            "hashes are out first (crm lottery settings --min-draw-gap)",
            field="campaign",
        )
    seed = _revealed_seed(campaign, seed)
    document = frozen_document(uow, campaign)
    if proof.sha256_hex(document) != campaign.list_sha256:
        raise Conflict(
            f"the frozen list of {campaign.name!r} no longer matches the hash published at close; "
            "it was changed — refusing to draw (run crm lottery verify)",
            field="campaign",
        )
    spec = draw_spec(campaign)
    wins = proof.draw(spec, frozen_entries(uow, campaign), seed, campaign.list_sha256)
    prizes = {p.rank: p for p in campaign.prizes}
    if campaign.participants_by == "code":
        from .members import holders

        current = holders(uow, [w.participant for w in wins])
    else:
        current = _current_customers(uow, [w.participant for w in wins])
    rows = []
    for w in wins:
        prize = prizes[w.prize_rank]
        prize.awarded += 1
        prize.stock -= 1
        row = LotteryWinner(
            campaign_id=campaign.id,
            slot=w.slot,
            prize_id=prize.id,
            prize_rank=w.prize_rank,
            participant=w.participant,
            customer_id=current[w.participant],
            position=w.position,
            ticket=w.ticket,
            drawn_at=now,
        )
        # for messages to the winner (not a column)
        row.lottery_code = (
            format_code(w.participant) if campaign.participants_by == "code" else None
        )
        uow.session.add(row)
        rows.append(row)
    campaign.seed = seed
    campaign.status = "drawn"
    campaign.drawn_at = now
    uow.session.flush()
    slots = proof.total_slots(spec)
    unawarded = [
        {"rank": p.rank, "name": p.name, "not_awarded": (p.slots or 0) - p.awarded}
        for p in campaign.prizes
        if (p.slots or 0) > p.awarded
    ]
    result = {
        "campaign": campaign.name,
        "seed": seed,
        "list_sha256": campaign.list_sha256,
        "seed_commitment": campaign.seed_commitment,
        "drawn_at": now.isoformat(),
        "winners": [winner_to_dict(uow, r, with_name=False) for r in rows],
        "prizes_to_draw": slots,
        "awarded": len(rows),
        "unawarded": unawarded,
    }
    if unawarded:
        result["warning"] = (
            f"{len(rows)} of {slots} prizes awarded: not enough eligible "
            f"{'members' if campaign.one_prize_per_person else 'entries'} for the rest"
        )
    uow.emit("lottery_winners_drawn", data=result, campaign=campaign, winners=rows)
    uow.audit("draw", "lottery_campaign", campaign.id, {"seed": seed, "awarded": len(rows)})
    return result


def _revealed_seed(campaign: LotteryCampaign, given: str | None) -> str:
    if given is None:
        if campaign.seed is None:
            raise ValidationError(
                f"the seed of {campaign.name!r} is kept by the operator: give it with --seed",
                field="seed",
            )
        return campaign.seed
    try:
        seed = proof.check_seed(given)
    except proof.ProofError as exc:
        raise ValidationError(str(exc), field="seed") from None
    if proof.commitment(seed) != campaign.seed_commitment:
        raise ValidationError(
            f"this seed does not match the commitment published at close "
            f"({campaign.seed_commitment})",
            field="seed",
        )
    return seed


def _current_customers(uow, participants: list[int]) -> dict[int, int]:
    """Participant id at close → the customer holding it now (after merges)."""
    out = {}
    for pid in participants:
        cid = pid
        for _ in range(20):
            c = uow.session.get(Customer, cid)
            if c is None or c.merged_into_id is None:
                break
            cid = c.merged_into_id
        out[pid] = cid
    return out


def campaign_of(uow, winner: LotteryWinner) -> LotteryCampaign:
    return uow.session.get(LotteryCampaign, winner.campaign_id)


def winner_to_dict(uow, winner: LotteryWinner, *, with_name: bool = True) -> dict[str, Any]:
    prize = uow.session.get(LotteryPrize, winner.prize_id)
    out = {
        "slot": winner.slot,
        "prize_rank": winner.prize_rank,
        "prize": prize.name,
        "prize_fa": prize.name_fa,
        "participant": winner.participant,
        "customer_id": winner.customer_id,
        "position": winner.position,
        "lottery_code": (
            winner.participant if campaign_of(uow, winner).participants_by == "code" else None
        ),
        "ticket": winner.ticket,
    }
    if with_name:
        customer = uow.session.get(Customer, winner.customer_id)
        out["name"] = customer.display_name if customer else None
    return out


# -- verification -------------------------------------------------------------------------------------------
def _published_record(uow, campaign: LotteryCampaign) -> dict[str, Any] | None:
    """The ``lottery_entries_frozen`` outbox event written when the campaign closed (what was announced)."""
    for event in uow.session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.event == "lottery_entries_frozen")
        .order_by(OutboxEvent.id)
    ):
        if (event.payload or {}).get("campaign") == campaign.name:
            return event.payload
    return None


def verify_campaign(
    uow,
    campaign: LotteryCampaign,
    *,
    list_sha256: str | None = None,
    seed_commitment: str | None = None,
) -> proof.Verification:
    """Recompute everything from the stored material, against the hashes published at close.

    ``list_sha256`` / ``seed_commitment``: the values announced publicly (checked against what is stored);
    the announcement recorded in the outbox is compared too when it is still there."""
    result = proof.Verification()
    published_list, published_commitment = _published_values(
        result, campaign, list_sha256, seed_commitment
    )
    record = _published_record(uow, campaign)
    if record is not None:
        same = (record.get("list_sha256"), record.get("seed_commitment")) == (
            published_list,
            published_commitment,
        )
        result.check(
            "announcement",
            same,
            "the hashes match the announcement recorded at close"
            if same
            else f"the announcement recorded at close says list {record.get('list_sha256')} and seed "
            f"commitment {record.get('seed_commitment')}",
        )
    rules_ok = proof.sha256_hex(campaign.rules_text) == campaign.rules_sha256
    result.check(
        "rules",
        rules_ok,
        "the official rules are unchanged since the campaign was created"
        if rules_ok
        else "the official rules text was changed after it was recorded",
    )
    document = frozen_document(uow, campaign)
    if campaign.status == "closed":
        actual = proof.sha256_hex(document)
        result.check(
            "frozen list",
            actual == published_list,
            f"SHA-256 of the frozen list is {actual}"
            + ("" if actual == published_list else f", but {published_list} was published"),
        )
        result.check("seed", True, "not revealed yet: the draw reveals it")
        return result
    claimed = [(w.slot, w.prize_rank, w.participant) for w in winners(uow, campaign)]
    inner = proof.verify(
        document,
        campaign.seed or "",
        list_sha256=published_list,
        seed_commitment=published_commitment,
        winners=claimed,
    )
    result.checks.extend(inner.checks)
    return result


def _published_values(
    result: proof.Verification,
    campaign: LotteryCampaign,
    list_sha256: str | None,
    seed_commitment: str | None,
) -> tuple[str, str]:
    out = []
    for given, stored, what in (
        (list_sha256, campaign.list_sha256, "list hash"),
        (seed_commitment, campaign.seed_commitment, "seed commitment"),
    ):
        if given is None:
            out.append(stored)
            continue
        try:
            given = proof.check_hash(given, f"the published {what}")
        except proof.ProofError as exc:
            raise ValidationError(str(exc), field=what.replace(" ", "_")) from None
        result.check(
            f"published {what}",
            given == stored,
            f"the stored {what} equals the published one"
            if given == stored
            else f"the stored {what} is {stored}, not the published {given}",
        )
        out.append(given)
    return out[0], out[1]


# -- the exported proof -------------------------------------------------------------------------------------
def proof_document(uow, campaign: LotteryCampaign) -> dict[str, Any]:
    """Everything needed to check the draw without the CRM: rules, frozen list, hashes, seed, winners."""
    if campaign.status != "drawn":
        raise Conflict(
            f"campaign {campaign.name!r} is {campaign.status}: the proof exists once it is drawn "
            "(export the frozen list with --list meanwhile)",
            field="campaign",
        )
    return {
        "format": PROOF_FORMAT,
        "campaign": campaign.name,
        "title": campaign.title,
        "title_fa": campaign.title_fa,
        "rules": campaign.rules_text,
        "rules_sha256": campaign.rules_sha256,
        "closed_at": campaign.closed_at.isoformat(),
        "drawn_at": campaign.drawn_at.isoformat(),
        "list_sha256": campaign.list_sha256,
        "seed_commitment": campaign.seed_commitment,
        "seed": campaign.seed,
        "frozen_list": frozen_document(uow, campaign),
        "winners": [
            {
                "slot": w.slot,
                "prize_rank": w.prize_rank,
                "participant": w.participant,
                "position": w.position,
                "ticket": w.ticket,
            }
            for w in winners(uow, campaign)
        ],
        "algorithm": "crmcore-lottery-v1: see the crmcore-lottery README, 'Verifying a draw'",
    }


def verify_proof(
    data: Any, *, list_sha256: str | None = None, seed_commitment: str | None = None
) -> proof.Verification:
    """Check an exported proof on its own (no database), optionally against publicly announced hashes."""
    result = proof.Verification()
    if not isinstance(data, dict) or data.get("format") != PROOF_FORMAT:
        result.check("proof file", False, f"not a lottery proof (format {PROOF_FORMAT!r} expected)")
        return result
    missing = [
        k
        for k in (
            "rules",
            "rules_sha256",
            "list_sha256",
            "seed_commitment",
            "seed",
            "frozen_list",
            "winners",
        )
        if k not in data
    ]
    if missing:
        result.check("proof file", False, f"the proof lacks {', '.join(missing)}")
        return result
    published_list = data["list_sha256"]
    published_commitment = data["seed_commitment"]
    for given, inside, what in (
        (list_sha256, published_list, "list hash"),
        (seed_commitment, published_commitment, "seed commitment"),
    ):
        if given is not None:
            same = given.strip().lower() == str(inside)
            result.check(
                f"published {what}",
                same,
                f"the proof's {what} equals the published one"
                if same
                else f"the proof's {what} is {inside}, not the published {given}",
            )
    rules_ok = proof.sha256_hex(str(data["rules"])) == data["rules_sha256"]
    result.check(
        "rules",
        rules_ok,
        "the rules text matches its hash" if rules_ok else "the rules text does not match its hash",
    )
    try:
        spec, _ = proof.parse_document(str(data["frozen_list"]))
        in_list = spec.rules_sha256 == data["rules_sha256"]
        result.check(
            "rules in list",
            in_list,
            "the frozen list names these rules" if in_list else "the frozen list names other rules",
        )
        claimed = [
            (int(w["slot"]), int(w["prize_rank"]), int(w["participant"])) for w in data["winners"]
        ]
    except proof.ProofError:
        claimed = []
    except (TypeError, KeyError, ValueError):
        result.check(
            "proof file", False, "the winners are not a list of {slot, prize_rank, participant}"
        )
        return result
    inner = proof.verify(
        str(data["frozen_list"]),
        str(data["seed"]),
        list_sha256=str(published_list),
        seed_commitment=str(published_commitment),
        winners=claimed,
    )
    result.checks.extend(inner.checks)
    return result
