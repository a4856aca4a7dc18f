"""The draw and its proof without a database: canonical document, hashes, determinism, tampering."""

import hashlib
import itertools

import pytest
from crmcore_lottery import proof
from hypothesis import given, settings
from hypothesis import strategies as st

RULES = hashlib.sha256("rules".encode()).hexdigest()
SEED = "ab" * 32


def spec(prizes=((1, 1), (2, 3)), one=True):
    return proof.DrawSpec("spring-1404", RULES, one, tuple(prizes))


def entries(weights):
    return [proof.FrozenEntry(i, 100 + i, w) for i, w in enumerate(weights, 1)]


def naive_draw(s, es, seed, list_hash):
    """The README's algorithm, written the slow, obvious way."""
    pool = [[e.position, e.participant, e.weight] for e in es]
    out, slot = [], 0
    for rank, slots in s.prizes:
        for _ in range(slots):
            total = sum(w for _, _, w in pool)
            if total == 0:
                return out
            attempt = 0
            while True:
                digest = hashlib.sha256(
                    f"{seed}:{list_hash}:{slot}:{attempt}".encode("ascii")
                ).digest()
                x = int.from_bytes(digest, "big")
                if x < 2**256 - (2**256 % total):
                    ticket = x % total
                    break
                attempt += 1
            running = 0
            for item in pool:
                running += item[2]
                if running > ticket:
                    out.append((slot, rank, item[1], ticket))
                    item[2] = 0 if s.one_prize_per_person else item[2] - 1
                    break
            slot += 1
    return out


def test_document_is_canonical_and_round_trips():
    doc = proof.frozen_document(spec(), entries([3, 1, 2]))
    assert doc == (
        "crmcore-lottery-v1\ncampaign spring-1404\nrules-sha256 " + RULES + "\n"
        "one-prize-per-person yes\nprize 1 1\nprize 2 3\n"
        "entry 1 101 3\nentry 2 102 1\nentry 3 103 2\n"
    )
    assert proof.parse_document(doc) == (spec(), entries([3, 1, 2]))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.replace("entry 2 102 1", "entry 3 102 1"), "out of order"),
        (lambda d: d.replace("entry 2 102 1", "entry 2 102 0"), "below 1"),
        (lambda d: d.replace("entry 2 102 1", "entry 2 102 01"), "canonical"),
        (lambda d: d.replace("prize 2 3", "prize 1 3"), "ranks must increase"),
        (lambda d: d.replace("crmcore-lottery-v1", "lottery"), "first line"),
        (lambda d: d[:-1], "newline"),
        (lambda d: d + "extra\n", "not a prize or entry"),
        (lambda d: d.replace("yes", "maybe"), "yes or no"),
    ],
)
def test_malformed_documents_are_refused_with_the_line(change, message):
    doc = change(proof.frozen_document(spec(), entries([3, 1, 2])))
    with pytest.raises(proof.ProofError, match=message):
        proof.parse_document(doc)


def test_commitment_is_sha256_of_the_seed_text_and_seeds_are_checked():
    assert proof.commitment(SEED) == hashlib.sha256(SEED.encode("ascii")).hexdigest()
    assert proof.commitment(SEED.upper()) == proof.commitment(SEED)
    for bad in ("", "ab" * 31, "zz" * 32):
        with pytest.raises(proof.ProofError, match="64 hexadecimal"):
            proof.check_seed(bad)
    a, b = proof.new_seed(), proof.new_seed()
    assert a != b and proof.HEX64.match(a)


def test_draw_is_deterministic_and_depends_on_seed_and_list():
    es = entries([5, 1, 7, 2, 9, 4, 3, 8])
    doc_hash = proof.sha256_hex(proof.frozen_document(spec(), es))
    first = proof.draw(spec(), es, SEED, doc_hash)
    assert first == proof.draw(spec(), es, SEED, doc_hash)
    assert [w.slot for w in first] == [0, 1, 2, 3] and [w.prize_rank for w in first] == [1, 2, 2, 2]
    assert len({w.participant for w in first}) == 4  # one prize per person
    others = {
        tuple(w.participant for w in proof.draw(spec(), es, f"{i:064x}", doc_hash))
        for i in range(30)
    }
    assert len(others) > 20  # the seed decides
    other_list = {
        tuple(w.participant for w in proof.draw(spec(), es, SEED, f"{i:064x}")) for i in range(30)
    }
    assert len(other_list) > 20  # and so does the list (through its hash)


def test_more_prizes_than_people_awards_what_is_possible():
    es = entries([1, 2])
    wins = proof.draw(spec(prizes=((1, 2), (2, 3))), es, SEED, "0" * 64)
    assert len(wins) == 2 and {w.participant for w in wins} == {101, 102}
    several = proof.draw(spec(prizes=((1, 2), (2, 3)), one=False), es, SEED, "0" * 64)
    assert len(several) == 3  # three tickets in all: each ticket wins once
    assert sorted(w.participant for w in several) == [101, 102, 102]
    assert proof.draw(spec(), [], SEED, "0" * 64) == []


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=25),
    prizes=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=3),
    one=st.booleans(),
    seed_int=st.integers(min_value=0, max_value=2**256 - 1),
)
def test_fast_draw_equals_the_documented_linear_algorithm(weights, prizes, one, seed_int):
    s = spec(prizes=tuple((r, n) for r, n in enumerate(prizes, 1)), one=one)
    es = entries(weights)
    seed = f"{seed_int:064x}"
    h = proof.sha256_hex(proof.frozen_document(s, es))
    fast = [(w.slot, w.prize_rank, w.participant, w.ticket) for w in proof.draw(s, es, seed, h)]
    assert fast == naive_draw(s, es, seed, h)


def test_rejection_sampling_covers_every_ticket_evenly():
    counts = [0] * 7
    for slot in range(7000):
        counts[proof.uniform_ticket(SEED, "0" * 64, slot, 7)] += 1
    assert all(850 < c < 1150 for c in counts), counts


def _published(weights=(5, 1, 7, 2, 9)):
    s = spec()
    es = entries(list(weights))
    doc = proof.frozen_document(s, es)
    h = proof.sha256_hex(doc)
    wins = [(w.slot, w.prize_rank, w.participant) for w in proof.draw(s, es, SEED, h)]
    return doc, h, proof.commitment(SEED), wins


def test_verify_passes_on_the_published_material():
    doc, h, c, wins = _published()
    result = proof.verify(doc, SEED, list_sha256=h, seed_commitment=c, winners=wins)
    assert result.ok, result.checks
    assert [name for name, _, _ in result.checks] == ["frozen list", "seed", "winners"]


def test_verify_fails_when_an_entry_changes():
    doc, h, c, wins = _published()
    tampered = doc.replace("entry 2 102 1", "entry 2 102 50")
    result = proof.verify(tampered, SEED, list_sha256=h, seed_commitment=c, winners=wins)
    assert not result.ok
    assert dict((n, ok) for n, ok, _ in result.checks)["frozen list"] is False


def test_verify_fails_when_the_seed_changes():
    doc, h, c, wins = _published()
    result = proof.verify(doc, "cd" * 32, list_sha256=h, seed_commitment=c, winners=wins)
    assert not result.ok
    assert (
        "does not" in dict((n, d) for n, _, d in result.checks)["seed"]
        or "but" in dict((n, d) for n, _, d in result.checks)["seed"]
    )


def test_verify_fails_when_a_winner_is_swapped_and_names_the_draw():
    doc, h, c, wins = _published()
    swapped = [wins[0][:2] + (999,)] + wins[1:]
    result = proof.verify(doc, SEED, list_sha256=h, seed_commitment=c, winners=swapped)
    assert not result.ok
    assert "draw 0 differs" in result.checks[-1][2] and "participant 999" in result.checks[-1][2]
    assert not proof.verify(doc, SEED, list_sha256=h, seed_commitment=c, winners=wins[:-1]).ok


def test_each_position_of_a_small_list_can_win():
    es = entries([1, 1, 1])
    winners = {
        proof.draw(spec(prizes=((1, 1),)), es, f"{i:064x}", "0" * 64)[0].participant
        for i in range(40)
    }
    assert winners == {101, 102, 103}
    assert list(itertools.islice(winners, 0)) == []
