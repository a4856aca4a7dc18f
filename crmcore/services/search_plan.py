"""Customer search, the one implementation: what a query asks for, the statements that rank the
customers inside the database, and the page they return. No SQLAlchemy here: the same statements run
on a SQLAlchemy connection (:mod:`crmcore.services.search`: the API, the web, plugins) and through
the DB-API driver alone (:mod:`crmcore.services.quickfind`: the CLI, which must answer before
SQLAlchemy could even be imported).

Ranking (best first; a customer counts with its best match): exact phone, email or external id 100;
the whole name 90; the name starting with the query (spaces ignored: "علیرضا" finds "علی رضا") 80;
email prefix 75; every query word a whole word of the name 70; phone number ending with the digits
65; every query word starting a word of the name, or the words joined (two words also the other
way round) starting a name token, 60. Within a score: shorter names first, then the lower id.

How it stays fast: every candidate comes from an index range read in index order and capped at
``CANDIDATES`` per source (names starting with the query, the rarest query word's name tokens
checked for the other words, the words joined, emails, phone numbers and their reversed digits,
external ids); one statement unions the sources, scores the candidates, orders them and returns only
the page, and a second one loads the page's phones and emails. Word frequencies come from
``customer_search_token_counts``, kept with the tokens (:mod:`crmcore.storage.tokens`). When a query
word is so common that a source reaches its cap, the customers past the cap in index order are not
ranked (names are in token order there, so the whole word comes before longer words that start with
it)."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

import attrs

from ..domain.phones import looks_like_phone, parse_phone
from ..domain.text import normalize, to_ascii_digits, tokens
from ..errors import ValidationError

TOP = "\U0010ffff"  # upper bound of a prefix range: token >= w AND token < w + TOP
CANDIDATES = 60  # candidates taken from each source at most
SCANNED = 150  # tokens of the rarest word read at most, to find those holding the other words too
COUNTED = 200  # distinct tokens starting with a word summed for its frequency (more: a common word)
TOKENS = "customer_search_tokens"

SCORE_EXACT_CONTACT = 100  # phone, email or external id
SCORE_NAME_EXACT = 90
SCORE_NAME_PREFIX = 80
SCORE_EMAIL_PREFIX = 75
SCORE_NAME_WORDS = 70
SCORE_PHONE_SUFFIX = 65
SCORE_NAME_WORD_PREFIXES = 60

# a candidate's grade is score * 10 + how: on equal scores the earlier kind of match is named
MATCHED = {4: "email", 3: "phone", 2: "external_id", 1: "name", 0: "all"}
_HOW = {v: k for k, v in MATCHED.items()}

# The digits of a phone number reversed, so "numbers ending with 1234567" is an index range. SQLite
# has no reverse(): the characters are taken from the right, one by one (e164 is String(20)).
PHONE_REVERSED = {
    "sqlite": " || ".join(f"substr(e164, -{i}, 1)" for i in range(1, 21)),
    "postgresql": "reverse(e164)",
}


@attrs.frozen
class SearchPlan:
    text: str
    email: str | None
    phone_e164: str | None
    phone_digits: str | None
    words: tuple[str, ...]  # normalised, distinct, in the order typed
    key: str  # the normalised query
    compact: str  # the normalised query without spaces


def plan(query: str | None) -> SearchPlan:
    q = (query or "").strip()
    email = q.lower() if "@" in q else None
    e164 = digits = None
    if looks_like_phone(q):
        try:
            e164 = parse_phone(q).e164
        except ValidationError:
            e164 = None
        d = re.sub(r"\D", "", to_ascii_digits(q))
        if d.startswith("0") and len(d) >= 10:  # a whole number, its trunk or country prefix typed
            d = d.lstrip("0")
        digits = d if len(d) >= 4 else None
    key = normalize(q)
    return SearchPlan(
        text=q,
        email=email,
        phone_e164=e164,
        phone_digits=digits,
        words=tuple(dict.fromkeys(tokens(q))),
        key=key,
        compact=key.replace(" ", ""),
    )


@attrs.frozen
class Page:
    """One page of results (dicts: id, name, phones, emails, external_id, city, score, matched) and
    the cursor of the next page (None on the last)."""

    results: list[dict[str, Any]]
    next_cursor: str | None


def parse_cursor(cursor: str | None) -> tuple[int, int, int] | None:
    """A page cursor is the last row's grade, name length and id: the next page starts after it."""
    if not cursor:
        return None
    try:
        grade, length, cid = (int(x) for x in cursor.split("."))
    except ValueError:
        raise ValidationError(
            f"{cursor!r} is not a search cursor (use a page's next_cursor)", field="cursor"
        ) from None
    return grade, length, cid


class Params:
    """Collects a statement's parameter values; ``style``: ``colon`` (``:_s0``: sqlite3 and
    SQLAlchemy's ``text()``) or ``pyformat`` (``%(_s0)s``: psycopg)."""

    def __init__(self, style: str):
        self.style = style
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"_s{len(self.values)}"  # apart from the conditions' binds, named after columns
        self.values[name] = value
        return f":{name}" if self.style == "colon" else f"%({name})s"


def _prefix(column: str, word: str, p: Params) -> str:
    return f"{column} >= {p(word)} AND {column} < {p(word + TOP)}"


def frequency_sql(words: Iterable[str], style: str) -> tuple[str, dict[str, Any]]:
    """One row: for each word, how many distinct tokens start with it (counted up to ``COUNTED``)
    and how many names have them."""
    p = Params(style)
    cols = [
        f"(SELECT count(*) * {p(1 << 32)} + coalesce(sum(customers), 0) FROM (SELECT customers "
        f"FROM customer_search_token_counts WHERE {_prefix('token', w, p)} "
        f"LIMIT {p(COUNTED)}) AS f{i})"
        for i, w in enumerate(words)
    ]
    return f"SELECT {', '.join(cols)}", p.values


def word_order(words: Iterable[str], counts: Iterable[int]) -> list[str]:
    """The query's words, the one to scan the name tokens by first: the rarest (ties: the longer
    word). A word starting ``COUNTED`` distinct tokens or more is common, whatever the customers
    counted."""

    def key(item):
        word, n = item
        return (n >> 32) >= COUNTED, n & 0xFFFFFFFF, -len(word)

    return [w for w, _ in sorted(zip(words, counts), key=key)]


def ranked_sql(
    sp: SearchPlan,
    words: list[str],
    dialect: str,
    style: str,
    *,
    limit: int,
    after: tuple[int, int, int] | None = None,
    extra: str | None = None,
) -> tuple[str, dict]:
    """The statement returning the page: (id, display_name, external_id, city, grade) rows, best
    first. ``words``: the plan's words, the driving one first. ``extra``: SQL conditions on ``c``
    (customers)."""
    p = Params(style)
    where = "c.merged_into_id IS NULL AND c.forgotten_at IS NULL"
    where += f" AND ({extra})" if extra else ""
    if not sp.text:
        cursor = f" AND c.id > {p(after[2])}" if after else ""
        return (
            f"SELECT c.id, c.display_name, c.external_id, c.city, 0 AS grade FROM customers c "
            f"WHERE {where}{cursor} ORDER BY c.id LIMIT {p(limit)}"
        ), p.values
    sources: list[str] = []

    def source(select: str, grade: int) -> None:
        sources.append(
            f"SELECT id, {grade} AS grade FROM ({select} LIMIT {p(CANDIDATES)}) AS s{len(sources)}"
        )

    if sp.email:
        source(
            f"SELECT customer_id AS id FROM customer_emails WHERE email = {p(sp.email)}",
            SCORE_EXACT_CONTACT * 10 + _HOW["email"],
        )
        source(
            f"SELECT customer_id AS id FROM customer_emails WHERE "
            f"{_prefix('email', sp.email, p)} ORDER BY email",
            SCORE_EMAIL_PREFIX * 10 + _HOW["email"],
        )
    if sp.phone_e164:
        source(
            f"SELECT customer_id AS id FROM customer_phones WHERE e164 = {p(sp.phone_e164)}",
            SCORE_EXACT_CONTACT * 10 + _HOW["phone"],
        )
    if sp.phone_digits:
        reversed_ = PHONE_REVERSED[dialect]
        source(
            f"SELECT customer_id AS id FROM customer_phones WHERE "
            f"{_prefix(reversed_, sp.phone_digits[::-1], p)} ORDER BY {reversed_}",
            SCORE_PHONE_SUFFIX * 10 + _HOW["phone"],
        )
    source(
        f"SELECT id FROM customers WHERE external_id = {p(sp.text)}",
        SCORE_EXACT_CONTACT * 10 + _HOW["external_id"],
    )
    if words:  # name candidates get grade 0 here and their score from their name below
        source(
            f"SELECT id FROM customers WHERE {_prefix('search_key', sp.key, p)} "
            f"ORDER BY search_key, id",
            0,
        )
        driver, *others = words
        if not others:
            source(
                f"SELECT customer_id AS id FROM {TOKENS} WHERE {_prefix('token', driver, p)} "
                f"ORDER BY token, customer_id",
                0,
            )
        else:  # the first SCANNED tokens of the rarest word, kept when the customer has the others
            also = " AND ".join(
                f"EXISTS (SELECT 1 FROM {TOKENS} o{i} WHERE o{i}.customer_id = t.id AND "
                f"{_prefix(f'o{i}.token', w, p)})"
                for i, w in enumerate(others)
            )
            source(
                f"SELECT id FROM (SELECT customer_id AS id FROM {TOKENS} WHERE "
                f"{_prefix('token', driver, p)} ORDER BY token, customer_id "
                f"LIMIT {p(SCANNED)}) AS t WHERE {also}",
                0,
            )
            # adjacent words as typed ("علیرضا" typed as "علی رضا"), and two words the other way
            # round ("کریمی علی" for "علی کریمی"): a name's tokens hold its adjacent words joined
            joined = [sp.compact] + ([sp.words[1] + sp.words[0]] if len(sp.words) == 2 else [])
            for j in joined:
                source(
                    f"SELECT customer_id AS id FROM {TOKENS} WHERE {_prefix('token', j, p)} "
                    f"ORDER BY token, customer_id",
                    0,
                )
    name = _name_grade(sp, dialect, p) if words else "0"
    cursor = ""
    if after:
        g, n, i = (p(x) for x in after)
        cursor = (
            f" WHERE grade < {g} OR (grade = {g} AND (length(display_name) > {n} OR "
            f"(length(display_name) = {n} AND id > {i})))"
        )
    # each candidate once before its row is read (sources overlap); grade 0: a name candidate
    bigger = "max" if dialect == "sqlite" else "greatest"
    return (
        f"WITH cand (id, grade) AS ({' UNION ALL '.join(sources)}), "
        f"best (id, grade, lowest) AS (SELECT id, max(grade), min(grade) FROM cand GROUP BY id) "
        f"SELECT id, display_name, external_id, city, grade FROM ("
        f"SELECT c.id, c.display_name, c.external_id, c.city, CASE WHEN best.lowest = 0 "
        f"THEN {bigger}(best.grade, {name}) ELSE best.grade END AS grade "
        f"FROM best JOIN customers c ON c.id = best.id WHERE {where}) AS ranked{cursor} "
        f"ORDER BY grade DESC, length(display_name), id LIMIT {p(limit)}"
    ), p.values


_COMPACT_KEY = "replace(c.search_key, ' ', '')"


def _name_grade(sp: SearchPlan, dialect: str, p: Params) -> str:
    how = _HOW["name"]
    find = "instr({0}, {1})" if dialect == "sqlite" else "strpos({0}, {1})"
    whole = " AND ".join(
        find.format("' ' || c.search_key || ' '", p(f" {w} ")) + " > 0" for w in sp.words
    )
    return (
        f"CASE WHEN c.search_key = {p(sp.key)} THEN {SCORE_NAME_EXACT * 10 + how} "
        f"WHEN ({_prefix('c.search_key', sp.key, p)}) OR "
        f"({_prefix(_COMPACT_KEY, sp.compact, p)})"
        f" THEN {SCORE_NAME_PREFIX * 10 + how} "
        f"WHEN {whole} THEN {SCORE_NAME_WORDS * 10 + how} "
        f"ELSE {SCORE_NAME_WORD_PREFIXES * 10 + how} END"
    )


def contacts_sql(ids: list[int], style: str) -> tuple[str, dict[str, Any]]:
    """(customer_id, kind 'e'/'p', value) of the customers' emails and phones, in their order."""
    p = Params(style)
    marks = ", ".join(p(i) for i in ids)
    marks2 = ", ".join(p(i) for i in ids)
    return (
        f"SELECT customer_id, 'p' AS kind, e164 AS value, position, id FROM customer_phones "
        f"WHERE customer_id IN ({marks}) UNION ALL "
        f"SELECT customer_id, 'e', email, position, id FROM customer_emails "
        f"WHERE customer_id IN ({marks2}) ORDER BY 1, 2, 4, 5"
    ), p.values


Execute = Callable[[str, dict[str, Any], bool], list[tuple]]


def search(
    execute: Execute,
    dialect: str,
    style: str,
    query: str | None,
    *,
    limit: int = 20,
    cursor: str | None = None,
    extra: str | None = None,
    contacts: bool = True,
) -> Page:
    """Run a search: ``execute(sql, params, with_extra)`` returns the rows of one statement
    (``with_extra``: the statement contains ``extra``, whose own parameters the caller adds)."""
    if limit < 1:
        raise ValidationError("the limit must be at least 1", field="limit")
    after = parse_cursor(cursor)
    sp = plan(query)
    words = list(sp.words)
    if len(words) > 1:
        sql, params = frequency_sql(words, style)
        words = word_order(words, execute(sql, params, False)[0])
    sql, params = ranked_sql(sp, words, dialect, style, limit=limit, after=after, extra=extra)
    rows = execute(sql, params, bool(extra))
    phones: dict[int, list[str]] = {}
    emails: dict[int, list[str]] = {}
    if rows and contacts:
        sql, params = contacts_sql([r[0] for r in rows], style)
        for cid, kind, value, *_ in execute(sql, params, False):
            (phones if kind == "p" else emails).setdefault(cid, []).append(value)
    results = [
        {
            "id": cid,
            "name": name,
            "phones": phones.get(cid, []),
            "emails": emails.get(cid, []),
            "external_id": external_id,
            "city": city,
            "score": grade // 10,
            "matched": MATCHED[grade % 10],
        }
        for cid, name, external_id, city, grade in rows
    ]
    last = rows[-1] if len(rows) == limit else None
    return Page(results, f"{last[4]}.{len(last[1])}.{last[0]}" if last else None)
