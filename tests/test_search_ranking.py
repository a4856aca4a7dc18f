"""The search's ranking rules, against a brute-force reference over every active customer; paging,
the ``restrict`` clause, the token counts the search plans with, and the phone-suffix index."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from crmcore.api import Customer, ValidationError
from crmcore.domain.text import normalize, search_tokens, to_persian_digits
from crmcore.services.customers import (
    add_customer,
    forget_customer,
    merge_customers,
    update_customer,
)
from crmcore.services.search import find_customers, search_customers
from crmcore.services.search_plan import plan
from crmcore.testing import make_customer


# --- the reference: the documented rules, customer by customer -----------------------------------------------
def reference(customers: list[dict], query: str) -> list[tuple[int, int, str]]:
    """(id, score, matched) of every matching active customer, best first, computed from the rules
    in docs/architecture.md ("Search") without any index or cap."""
    sp = plan(query)
    if not sp.text:
        return [(c["id"], 0, "all") for c in sorted(customers, key=lambda c: c["id"])]
    found = []
    for c in customers:
        hits = []  # (score, priority of the kind of match, kind)
        for email in c["emails"]:
            if sp.email and email == sp.email:
                hits.append((100, 4, "email"))
            elif sp.email and email.startswith(sp.email):
                hits.append((75, 4, "email"))
        for e164 in c["phones"]:
            if sp.phone_e164 and e164 == sp.phone_e164:
                hits.append((100, 3, "phone"))
            elif sp.phone_digits and e164.endswith(sp.phone_digits):
                hits.append((65, 3, "phone"))
        if c["external_id"] is not None and c["external_id"] == sp.text:
            hits.append((100, 2, "external_id"))
        key = normalize(c["name"])
        toks = search_tokens(c["name"])
        words = sp.words
        joined = [sp.compact] + ([words[1] + words[0]] if len(words) == 2 else [])
        if words and (
            all(any(t.startswith(w) for t in toks) for w in words)
            or key.startswith(sp.key)
            or (len(words) > 1 and any(t.startswith(j) for t in toks for j in joined))
        ):
            if key == sp.key:
                score = 90
            elif key.startswith(sp.key) or key.replace(" ", "").startswith(sp.compact):
                score = 80
            elif set(words) <= set(key.split(" ")):
                score = 70
            else:
                score = 60
            hits.append((score, 1, "name"))
        if hits:
            score, _, how = max(hits)
            found.append((c["id"], score, how, len(c["name"])))
    found.sort(key=lambda f: (-f[1], f[3], f[0]))
    return [f[:3] for f in found]


def active_customers(app) -> list[dict]:
    with app.unit_of_work(readonly=True) as uow:
        return [
            {
                "id": c.id,
                "name": c.display_name,
                "phones": [p.e164 for p in c.phones],
                "emails": [e.email for e in c.emails],
                "external_id": c.external_id,
            }
            for c in uow.session.scalars(
                select(Customer).where(
                    Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None)
                )
            )
        ]


def searched(app, query: str, limit: int = 500, **kw) -> list[tuple[int, int, str]]:
    with app.unit_of_work(readonly=True) as uow:
        return [
            (r["id"], r["score"], r["matched"])
            for r in search_customers(uow, query, limit=limit, **kw).results
        ]


# --- the rules, one by one ------------------------------------------------------------------------------------
def test_the_ranking_rules(crm_app):
    ids = {
        label: make_customer(crm_app, name, **kw)
        for label, name, kw in [
            ("word prefix", "رضا علیزاده", {}),
            ("whole word", "رضا علی", {}),
            ("long prefix", "علی اکبری نژاد", {}),
            ("prefix", "علی رضایی", {}),
            (
                "joined prefix",
                "علي‌رضا",
                {},
            ),  # Arabic yeh, ZWNJ: "علیرضا" is typed as one word or two
            ("exact", "علی", {}),
            ("code", "Someone", {"external_id": "علی"}),
        ]
    }
    assert searched(crm_app, "علی") == [
        (ids["code"], 100, "external_id"),
        (ids["exact"], 90, "name"),
        (ids["joined prefix"], 80, "name"),
        (ids["prefix"], 80, "name"),
        (ids["long prefix"], 80, "name"),
        (ids["whole word"], 70, "name"),
        (ids["word prefix"], 60, "name"),
    ]
    assert searched(crm_app, "علیرضا")[0] == (ids["joined prefix"], 80, "name")


def test_an_exact_phone_comes_before_numbers_ending_the_same(crm_app):
    owner = make_customer(crm_app, "Zed", phones=["09121234567"])
    other = make_customer(crm_app, "Al", phones=["09112345678"])  # holds 1234567 inside
    suffix = make_customer(crm_app, "Bo", phones=["09351234567"])
    assert searched(crm_app, "۰۹۱۲ ۱۲۳ ۴۵۶۷") == [(owner, 100, "phone")]
    assert searched(crm_app, "1234567") == [
        (suffix, 65, "phone"),
        (owner, 65, "phone"),
    ]  # shorter name first
    assert searched(crm_app, "۰۰۰۰") == []
    assert other  # a number that merely contains the digits is no match


def test_a_phone_suffix_with_leading_zeros(crm_app):
    cid = make_customer(crm_app, "Zero", phones=["09120000537"])
    assert searched(crm_app, "0000537") == [(cid, 65, "phone")]
    assert searched(crm_app, "۰۰۰۰۵۳۷") == [(cid, 65, "phone")]


# --- against the reference, on random customers and queries --------------------------------------------------
WORDS = [
    "علی",
    "علي",
    "رضا",
    "کریم",
    "كريم",
    "کریمی",
    "زهرا",
    "محمد",
    "م",
    "ع",
    "Ali",
    "ALI",
    "ali",
    "sara",
    "s",
    "Reza",
    "حسین",
    "ح",
    "نازنین",
    "سارا",
]
JOIN = st.sampled_from([" ", " ", "\u200c", "  "])


@st.composite
def names(draw):
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
    if draw(st.booleans()):
        words.append(words[0])  # a repeated word
    out = words[0]
    for w in words[1:]:
        out += draw(JOIN) + w
    return out


@st.composite
def people(draw):
    count = draw(st.integers(1, 8))
    out = []
    for i in range(count):
        phones = [
            f"09{draw(st.sampled_from(['12', '35']))}{draw(st.integers(0, 10**7 - 1)):07d}"
            for _ in range(draw(st.integers(0, 2)))
        ]
        emails = sorted(
            {
                f"{draw(st.sampled_from(['ali', 'sara', 'reza.k', 'a']))}{i}@"
                f"{draw(st.sampled_from(['x.ir', 'mail.com']))}"
                for _ in range(draw(st.integers(0, 2)))
            }
        )
        external_id = draw(st.sampled_from([None, None, f"C{i}", f"Ali{i}"]))
        out.append(
            {"name": draw(names()), "phones": phones, "emails": emails, "external_id": external_id}
        )
    return out


def queries_for(draw, batch: list[dict]) -> list[str]:
    some = draw(st.sampled_from(batch))
    word = draw(st.sampled_from(some["name"].replace("\u200c", " ").split()))
    qs = [
        word,
        word[: draw(st.integers(1, len(word)))],
        some["name"],
        " ".join(reversed(some["name"].split())),
        draw(names()),
        draw(st.sampled_from(WORDS)),
        "",
        "nobody",
    ]
    if some["phones"]:
        number = draw(st.sampled_from(some["phones"]))
        qs += [
            number,
            to_persian_digits(number),
            number[-draw(st.integers(4, 10)) :],
            to_persian_digits(number[-7:]),
            "+98 " + number[1:],
        ]
    if some["emails"]:
        email = draw(st.sampled_from(some["emails"]))
        qs += [email.upper(), email[: draw(st.integers(1, len(email)))]]
    if some["external_id"]:
        qs.append(some["external_id"])
    return qs


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_search_ranks_like_the_brute_force_reference(crm_app, data):
    batch = data.draw(people())
    ids = []
    with crm_app.unit_of_work() as uow:
        for i, person in enumerate(batch):
            if person["external_id"] in {p["external_id"] for p in batch[:i]}:
                person["external_id"] = None
            ids.append(
                add_customer(
                    uow,
                    name=person["name"],
                    phones=person["phones"],
                    emails=person["emails"],
                    external_id=person["external_id"],
                ).id
            )
    try:
        customers = active_customers(crm_app)
        for query in queries_for(data.draw, batch):
            expected = reference(customers, query)
            assert searched(crm_app, query) == expected, query
            pages, cursor = [], None  # the same list, page by page
            while True:
                with crm_app.unit_of_work(readonly=True) as uow:
                    page = search_customers(uow, query, limit=3, cursor=cursor)
                pages += [(r["id"], r["score"], r["matched"]) for r in page.results]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert pages == expected, query
    finally:
        with crm_app.unit_of_work() as uow:
            for cid in ids:
                forget_customer(uow, cid)


# --- paging, restrictions, one implementation everywhere --------------------------------------------------------
def test_a_cursor_continues_after_the_last_row_even_when_customers_are_added(crm_app):
    ids = [make_customer(crm_app, f"سارا {'ا' * n}") for n in range(1, 6)]
    with crm_app.unit_of_work(readonly=True) as uow:
        first = search_customers(uow, "سارا", limit=2)
    assert [r["id"] for r in first.results] == ids[:2]
    make_customer(crm_app, "سارا")  # ranks first: the pages already shown do not shift
    with crm_app.unit_of_work(readonly=True) as uow:
        second = search_customers(uow, "سارا", limit=2, cursor=first.next_cursor)
        last = search_customers(uow, "سارا", limit=2, cursor=second.next_cursor)
    assert [r["id"] for r in second.results] == ids[2:4]
    assert [r["id"] for r in last.results] == ids[4:] and last.next_cursor is None
    with crm_app.unit_of_work(readonly=True) as uow:
        with pytest.raises(ValidationError, match="not a search cursor"):
            search_customers(uow, "سارا", cursor="garbage")


def test_restrict_limits_the_results_to_the_customers_allowed(crm_app):
    mine = make_customer(crm_app, "علی کریمی", owner="agent1", phones=["09121111111"])
    theirs = make_customer(crm_app, "علی کریمیان", owner="agent2", phones=["09122221111"])
    make_customer(crm_app, "Someone", owner="agent1", tags=["vip"])
    own = Customer.owner == "agent1"
    assert [r[0] for r in searched(crm_app, "علی", restrict=own)] == [mine]
    assert [r[0] for r in searched(crm_app, "1111", restrict=own)] == [mine]
    assert [
        r[0] for r in searched(crm_app, "1111", restrict=Customer.owner.in_(["agent1", "agent2"]))
    ] == [mine, theirs]
    assert searched(crm_app, "علی", restrict=own, where=["tag=vip"]) == []
    with crm_app.unit_of_work(readonly=True) as uow:  # the ORM form too
        assert [
            m.customer.id for m in find_customers(uow, "کریمی", restrict=Customer.owner == "agent2")
        ] == [theirs]


def test_the_cli_path_runs_the_same_search(crm_app):
    from crmcore.services.quickfind import quick_page

    for n in range(4):
        make_customer(crm_app, f"نازنین {'ن' * n}", phones=[f"0912333444{n}"])
    for query in ["نازنین", "نازنين ن", "3334441", ""]:
        with crm_app.unit_of_work(readonly=True) as uow:
            full = search_customers(uow, query, limit=3)
        assert quick_page(crm_app.url, query, limit=3) == full


# --- what the search plans with ----------------------------------------------------------------------------
def stored_counts(app) -> tuple[dict, dict]:
    with app.unit_of_work(readonly=True) as uow:
        kept = dict(
            uow.session.execute(
                text(
                    "SELECT token, customers FROM customer_search_token_counts WHERE customers <> 0"
                )
            ).all()
        )
        actual = dict(
            uow.session.execute(
                text("SELECT token, count(*) FROM customer_search_tokens GROUP BY token")
            ).all()
        )
    return kept, actual


def test_token_counts_follow_every_change_of_names(crm_app, tmp_path):
    from crmcore.importing.customers import import_customers

    a = make_customer(crm_app, "علی کریمی")
    b = make_customer(crm_app, "علی رضایی")
    c = make_customer(crm_app, "زهرا کریمی")
    with crm_app.unit_of_work() as uow:
        update_customer(uow, a, name="علی کریم")
        merge_customers(uow, b, c)
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        "name,phone\nعلی کریمی,09121231234\nسارا کریمی,09121231235\n", encoding="utf-8"
    )
    import_customers(crm_app, sheet)
    kept, actual = stored_counts(crm_app)
    assert kept == actual and actual["علی"] == 3 and actual["کریمی"] == 2
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, b)
    kept, actual = stored_counts(crm_app)
    assert kept == actual and actual["علی"] == 2


def test_the_rarest_word_drives_the_search(crm_app, monkeypatch):
    from crmcore.services import search_plan

    for n in range(6):
        make_customer(crm_app, f"علی کریمی {n}")
    rare = make_customer(crm_app, "علی رضا نادری")  # not adjacent: only the scan by words finds it
    monkeypatch.setattr(search_plan, "SCANNED", 2)  # two name tokens of the driving word are read
    monkeypatch.setattr(search_plan, "CANDIDATES", 2)
    # "علی" holds 7 customers, "ناد" 1: scanning by "علی" would not reach the one customer with both
    assert [r[0] for r in searched(crm_app, "ناد علی")] == [rare]


def test_two_words_typed_the_other_way_round_find_a_name_written_as_one_word(crm_app):
    glued = make_customer(crm_app, "علیرضا")
    assert searched(crm_app, "رضا علی") == [(glued, 60, "name")]
    assert searched(crm_app, "علی رضا") == [(glued, 80, "name")]


def test_phone_suffixes_use_the_reversed_digits_index(crm_app):
    make_customer(crm_app, "Zed", phones=["09121234567"])
    with crm_app.unit_of_work(readonly=True) as uow:
        conn = uow.session.connection()
        from crmcore.services.search_plan import PHONE_REVERSED, TOP

        expression = PHONE_REVERSED[conn.dialect.name]
        sql = f"SELECT customer_id FROM customer_phones WHERE {expression} >= :a AND {expression} < :b"
        if conn.dialect.name == "sqlite":
            plan_text = " ".join(
                str(r)
                for r in conn.execute(
                    text("EXPLAIN QUERY PLAN " + sql), {"a": "7654", "b": "7654" + TOP}
                )
            )
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan_text = " ".join(
                r[0] for r in conn.execute(text("EXPLAIN " + sql), {"a": "7654", "b": "7654" + TOP})
            )
        assert "ix_customer_phones_e164_reversed" in plan_text
        assert conn.execute(text(sql), {"a": "7654", "b": "7654" + TOP}).scalar() is not None
        assert uow.session.scalar(select(func.count()).select_from(Customer)) == 1
