"""The auditable draw, free of any database: the frozen document, the hashes, the draw and its verification.

Everything here is a pure function of published material, so anyone can re-implement it (the README gives
the algorithm in words). Summary:

- The **frozen document** is UTF-8 text, lines ending in ``\\n``::

      crmcore-lottery-v1
      campaign <name>
      rules-sha256 <64 hex>
      one-prize-per-person yes|no
      prize <rank> <slots>                (one line per prize, rank 1 first)
      entry <position> <participant> <weight>   (positions 1, 2, 3… in order)

  Its SHA-256 (lower-case hex) is the **list hash** published at close.
- The **seed** is 64 lower-case hex characters (32 random bytes); its **commitment** is the SHA-256 of those
  64 ASCII characters, published at close and revealed at the draw.
- **Draw** ``s`` (0, 1, 2… across the prizes in rank order, each prize taking ``slots`` draws): ``T`` = total
  weight still in the pool; for attempt ``a`` = 0, 1…: ``x`` = SHA-256 of ASCII ``"<seed>:<list hash>:<s>:<a>"``
  read as a big-endian 256-bit integer; accept the first ``x < 2**256 - (2**256 mod T)`` and take
  ``ticket = x mod T`` (rejection sampling: every ticket equally likely). The winner is the first entry, in
  position order, whose running total of weights exceeds ``ticket``. Then, with one prize per person, the
  winner's weight becomes 0; otherwise it drops by 1 (that ticket is used up). When ``T`` is 0 the remaining
  prizes are not awarded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import NamedTuple

FORMAT = "crmcore-lottery-v1"
NAME = re.compile(r"^[^\s:]{1,60}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SPACE = 1 << 256


class ProofError(ValueError):
    """The published material is malformed (not a valid frozen document, seed or commitment)."""


@dataclass(frozen=True)
class DrawSpec:
    campaign: str
    rules_sha256: str
    one_prize_per_person: bool
    #: (rank, slots) in rank order
    prizes: tuple[tuple[int, int], ...]


class FrozenEntry(NamedTuple):
    position: int
    participant: int
    weight: int


class Win(NamedTuple):
    slot: int
    prize_rank: int
    position: int
    participant: int
    ticket: int
    #: the pool's total weight at this draw
    total: int

    def as_dict(self) -> dict:
        return {
            "slot": self.slot,
            "prize_rank": self.prize_rank,
            "position": self.position,
            "participant": self.participant,
            "ticket": self.ticket,
            "pool": self.total,
        }


@dataclass
class Verification:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in self.checks],
        }


# -- hashes ------------------------------------------------------------------------------------------------
def sha256_hex(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def new_seed() -> str:
    import secrets

    return secrets.token_hex(32)


def check_seed(seed: str) -> str:
    seed = (seed or "").strip().lower()
    if not HEX64.match(seed):
        raise ProofError("a seed is 64 hexadecimal characters (32 bytes)")
    return seed


def check_hash(value: str, what: str) -> str:
    value = (value or "").strip().lower()
    if not HEX64.match(value):
        raise ProofError(f"{what} is a SHA-256 in hexadecimal (64 characters), not {value[:70]!r}")
    return value


def commitment(seed: str) -> str:
    return sha256_hex(check_seed(seed).encode("ascii"))


# -- the frozen document ------------------------------------------------------------------------------------
def frozen_document(spec: DrawSpec, entries: list[FrozenEntry]) -> str:
    if not NAME.match(spec.campaign):
        raise ProofError(
            f"campaign name {spec.campaign!r} cannot go in a frozen document (no spaces or ':')"
        )
    lines = [
        FORMAT,
        f"campaign {spec.campaign}",
        f"rules-sha256 {spec.rules_sha256}",
        f"one-prize-per-person {'yes' if spec.one_prize_per_person else 'no'}",
    ]
    lines += [f"prize {rank} {slots}" for rank, slots in spec.prizes]
    lines += [f"entry {e.position} {e.participant} {e.weight}" for e in entries]
    return "\n".join(lines) + "\n"


_ENTRY = re.compile(r"entry ([1-9][0-9]*) ([1-9][0-9]*) ([1-9][0-9]*)")
_DIGITS = re.compile(r"[0-9]+")


def _int(text: str, line_no: int, what: str, minimum: int) -> int:
    if not _DIGITS.fullmatch(text):
        raise ProofError(f"line {line_no}: {what} {text!r} is not a whole number")
    value = int(text)
    if value < minimum:
        raise ProofError(f"line {line_no}: {what} {value} is below {minimum}")
    return value


def parse_document(text: str) -> tuple[DrawSpec, list[FrozenEntry]]:
    """Read a frozen document back, refusing anything :func:`frozen_document` would not have written."""
    if not text.endswith("\n"):
        raise ProofError("a frozen document ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 4 or lines[0] != FORMAT:
        raise ProofError(f"not a frozen document (the first line must be {FORMAT!r})")
    head = {}
    for no, (line, key) in enumerate(
        zip(lines[1:4], ("campaign", "rules-sha256", "one-prize-per-person")), 2
    ):
        parts = line.split(" ")
        if len(parts) != 2 or parts[0] != key:
            raise ProofError(f"line {no}: expected '{key} …', found {line[:60]!r}")
        head[key] = parts[1]
    if head["one-prize-per-person"] not in ("yes", "no"):
        raise ProofError("line 4: one-prize-per-person is yes or no")
    check_hash(head["rules-sha256"], "rules-sha256")
    prizes, entries = [], []
    for no, line in enumerate(lines[4:], 5):
        fast = _ENTRY.fullmatch(line)
        if fast:  # the common, well-formed entry line; anything else takes the slower path with its message
            position, participant, weight = int(fast[1]), int(fast[2]), int(fast[3])
            if position != len(entries) + 1:
                raise ProofError(
                    f"line {no}: entry position {position} out of order (expected {len(entries) + 1})"
                )
            entries.append(FrozenEntry(position, participant, weight))
            continue
        parts = line.split(" ")
        if parts[0] == "prize" and len(parts) == 3 and not entries:
            rank, slots = _int(parts[1], no, "rank", 1), _int(parts[2], no, "slots", 0)
            if prizes and rank <= prizes[-1][0]:
                raise ProofError(f"line {no}: prize ranks must increase")
            prizes.append((rank, slots))
        elif parts[0] == "entry" and len(parts) == 4:
            position = _int(parts[1], no, "position", 1)
            if position != len(entries) + 1:
                raise ProofError(
                    f"line {no}: entry position {position} out of order (expected {len(entries) + 1})"
                )
            entries.append(
                FrozenEntry(
                    position, _int(parts[2], no, "participant", 1), _int(parts[3], no, "weight", 1)
                )
            )
        else:
            raise ProofError(f"line {no}: not a prize or entry line: {line[:60]!r}")
    spec = DrawSpec(
        head["campaign"], head["rules-sha256"], head["one-prize-per-person"] == "yes", tuple(prizes)
    )
    if frozen_document(spec, entries) != text:
        raise ProofError("the document is not in canonical form")
    return spec, entries


# -- the draw -----------------------------------------------------------------------------------------------
def uniform_ticket(seed: str, list_sha256: str, slot: int, total: int) -> int:
    """A ticket in [0, total), every value equally likely, from SHA-256 with rejection sampling."""
    if total <= 0:
        raise ValueError("the pool is empty")
    bound = SPACE - SPACE % total
    attempt = 0
    while True:
        x = int.from_bytes(
            hashlib.sha256(f"{seed}:{list_sha256}:{slot}:{attempt}".encode("ascii")).digest(), "big"
        )
        if x < bound:
            return x % total
        attempt += 1


class _Fenwick:
    """Prefix sums of the weights with updates in O(log n): finds the entry holding a ticket quickly.

    The result is exactly the README's linear walk (first position whose running total exceeds the ticket)."""

    def __init__(self, weights: list[int]):
        self.n = len(weights)
        self.tree = [0] * (self.n + 1)
        for i, w in enumerate(weights, 1):
            self.tree[i] += w
            parent = i + (i & -i)
            if parent <= self.n:
                self.tree[parent] += self.tree[i]
        self.step = 1 << max(self.n.bit_length() - 1, 0) if self.n else 0

    def add(self, index: int, delta: int) -> None:
        i = index + 1
        while i <= self.n:
            self.tree[i] += delta
            i += i & -i

    def find(self, ticket: int) -> int:
        """0-based index of the first entry whose running total exceeds ``ticket``."""
        pos, rest, step = 0, ticket, self.step
        while step:
            nxt = pos + step
            if nxt <= self.n and self.tree[nxt] <= rest:
                pos = nxt
                rest -= self.tree[nxt]
            step >>= 1
        return pos


def draw(spec: DrawSpec, entries: list[FrozenEntry], seed: str, list_sha256: str) -> list[Win]:
    """The winners: a deterministic function of the frozen list (with its hash) and the revealed seed."""
    seed = check_seed(seed)
    list_sha256 = check_hash(list_sha256, "the list hash")
    weights = [e.weight for e in entries]
    tree = _Fenwick(weights)
    total = sum(weights)
    wins: list[Win] = []
    slot = 0
    for rank, slots in spec.prizes:
        for _ in range(slots):
            if total == 0:
                return wins
            ticket = uniform_ticket(seed, list_sha256, slot, total)
            index = tree.find(ticket)
            entry = entries[index]
            wins.append(Win(slot, rank, entry.position, entry.participant, ticket, total))
            taken = weights[index] if spec.one_prize_per_person else 1
            weights[index] -= taken
            tree.add(index, -taken)
            total -= taken
            slot += 1
    return wins


def total_slots(spec: DrawSpec) -> int:
    return sum(slots for _, slots in spec.prizes)


# -- verification -------------------------------------------------------------------------------------------
def verify(
    document: str,
    seed: str,
    *,
    list_sha256: str,
    seed_commitment: str,
    winners: list[tuple[int, int, int]],
) -> Verification:
    """Check published material: the document's hash, the seed against its commitment, and the winners
    ``[(slot, prize_rank, participant), …]`` against a fresh draw."""
    result = Verification()
    try:
        spec, entries = parse_document(document)
    except ProofError as exc:
        result.check("frozen list", False, str(exc))
        return result
    actual = sha256_hex(document)
    result.check(
        "frozen list",
        actual == list_sha256,
        f"SHA-256 of the frozen list is {actual}"
        + ("" if actual == list_sha256 else f", but {list_sha256} was published"),
    )
    try:
        seed = check_seed(seed)
        seed_ok = commitment(seed) == seed_commitment
        result.check(
            "seed",
            seed_ok,
            "the revealed seed matches the published commitment"
            if seed_ok
            else f"SHA-256 of the revealed seed is {commitment(seed)}, but {seed_commitment} was published",
        )
    except ProofError as exc:
        result.check("seed", False, str(exc))
        return result
    recomputed = [(w.slot, w.prize_rank, w.participant) for w in draw(spec, entries, seed, actual)]
    claimed = [tuple(w) for w in winners]
    if recomputed == claimed:
        result.check(
            "winners", True, f"{len(claimed)} winners recomputed from the list and the seed"
        )
    else:
        diff = next(
            (i for i, (a, b) in enumerate(zip(recomputed, claimed)) if a != b),
            min(len(recomputed), len(claimed)),
        )
        got = recomputed[diff] if diff < len(recomputed) else None
        said = claimed[diff] if diff < len(claimed) else None
        result.check(
            "winners",
            False,
            f"draw {diff} differs: the recomputed draw gives {_win_text(got)}, "
            f"the recorded winners say {_win_text(said)}",
        )
    return result


def _win_text(win) -> str:
    if win is None:
        return "no winner"
    return f"prize {win[1]} to participant {win[2]}"
