"""``crm customers find`` without SQLAlchemy, for a CLI that answers in well under 0.3 s.

Importing SQLAlchemy alone takes longer than that on a small machine, so the CLI's plain search (no
``--where``: those fields come from plugins and need the full application) runs the same queries as
:func:`crmcore.services.search.find_customers` through the DB-API driver directly. The query plan and the
scoring are shared (:mod:`crmcore.services.search_plan`); tests check both paths give the same answers.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .search_plan import (
    CANDIDATES, COUNT_CAP, SCORE_EMAIL_PREFIX, SCORE_EXACT_CONTACT, SCORE_PHONE_SUFFIX, TOP, Scores, plan,
    score_name, word_order,
)


def connect(url: str):
    """A DB-API connection and its placeholder for a SQLAlchemy-style URL (sqlite or postgresql+psycopg)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        import sqlite3

        path = unquote(url.split(":///", 1)[1].split("?", 1)[0]) if ":///" in url else ":memory:"
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        return con, "?"
    if scheme == "postgresql":
        import psycopg

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        kwargs: dict[str, Any] = {"dbname": unquote(parts.path.lstrip("/")) or None, "host": parts.hostname,
                                  "port": parts.port, "user": unquote(parts.username) if parts.username else None,
                                  "password": unquote(parts.password) if parts.password else None, **query}
        return psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None}), "%s"
    raise ValueError(f"no fast path for {scheme!r} databases")


def quick_find(url: str, query: str, limit: int = 20) -> list[dict[str, Any]]:
    con, ph = connect(url)
    try:
        return _find(con.cursor(), ph, query, limit)
    finally:
        con.close()


def _find(cur, ph: str, query: str, limit: int) -> list[dict[str, Any]]:
    def q(sql: str, *args) -> list[tuple]:
        cur.execute(sql.replace("?", ph), args)
        return cur.fetchall()

    p = plan(query)
    if not p.text:
        rows = q("SELECT id FROM customers WHERE merged_into_id IS NULL AND forgotten_at IS NULL ORDER BY id LIMIT ?",
                 limit)
        return _details(q, [r[0] for r in rows], {r[0]: (0, "all") for r in rows})
    scores = Scores()
    if p.email:
        scores.add([r[0] for r in q("SELECT customer_id FROM customer_emails WHERE email = ?", p.email)],
                   SCORE_EXACT_CONTACT, "email")
        scores.add([r[0] for r in q("SELECT customer_id FROM customer_emails WHERE email >= ? AND email < ? LIMIT ?",
                                    p.email, p.email + TOP, CANDIDATES)], SCORE_EMAIL_PREFIX, "email")
    if p.phone_e164:
        scores.add([r[0] for r in q("SELECT customer_id FROM customer_phones WHERE e164 = ?", p.phone_e164)],
                   SCORE_EXACT_CONTACT, "phone")
    if p.phone_digits and not scores:
        scores.add([r[0] for r in q("SELECT customer_id FROM customer_phones WHERE e164 LIKE ? LIMIT ?",
                                    f"%{p.phone_digits}", CANDIDATES)], SCORE_PHONE_SUFFIX, "phone")
    scores.add([r[0] for r in q("SELECT id FROM customers WHERE external_id = ?", p.text)], SCORE_EXACT_CONTACT,
               "external_id")
    if p.words:
        words = list(dict.fromkeys(p.words))
        counts = {w: q("SELECT count(*) FROM (SELECT 1 FROM customer_search_tokens WHERE token >= ? AND token < ? "
                       "LIMIT ?) AS found", w, w + TOP, COUNT_CAP)[0][0] for w in words} if len(words) > 1 else {}
        driver, *others = word_order(words, counts)
        also = "".join(f" AND EXISTS (SELECT 1 FROM customer_search_tokens t{i} WHERE t{i}.customer_id = "
                       f"t.customer_id AND t{i}.token >= ? AND t{i}.token < ?)" for i in range(len(others)))
        ids = {r[0] for r in q(
            f"SELECT t.customer_id FROM customer_search_tokens t WHERE t.token >= ? AND t.token < ?{also} "
            "ORDER BY t.token, t.customer_id LIMIT ?",
            driver, driver + TOP, *[x for w in others for x in (w, w + TOP)], CANDIDATES)}
        if p.joined:
            ids.update(r[0] for r in q("SELECT id FROM customers WHERE search_key >= ? AND search_key < ? "
                                       "ORDER BY search_key, id LIMIT ?", p.key, p.key + TOP, CANDIDATES))
            ids.update(r[0] for r in q("SELECT customer_id FROM customer_search_tokens WHERE token >= ? AND token < ? "
                                       "ORDER BY token, customer_id LIMIT ?", p.joined, p.joined + TOP, CANDIDATES))
        if ids:
            marks = ", ".join("?" for _ in ids)
            for cid, skey in q(f"SELECT id, search_key FROM customers WHERE id IN ({marks})", *ids):
                scores.add([cid], score_name(p, skey), "name")
    return _details(q, list(scores), scores, limit)


def _details(q, ids: list[int], scores: dict, limit: int | None = None) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = [{"id": r[0], "name": r[1], "external_id": r[2], "city": r[3]} for r in q(
        f"SELECT id, display_name, external_id, city FROM customers WHERE id IN ({marks}) "
        f"AND merged_into_id IS NULL AND forgotten_at IS NULL", *ids)]
    rows = Scores(scores).order(rows)[:limit] if limit else sorted(rows, key=lambda r: r["id"])
    if not rows:
        return []
    keep = [r["id"] for r in rows]
    marks = ", ".join("?" for _ in keep)
    phones: dict[int, list[str]] = {}
    for cid, e164 in q(f"SELECT customer_id, e164 FROM customer_phones WHERE customer_id IN ({marks}) "
                       f"ORDER BY customer_id, position", *keep):
        phones.setdefault(cid, []).append(e164)
    emails: dict[int, list[str]] = {}
    for cid, email in q(f"SELECT customer_id, email FROM customer_emails WHERE customer_id IN ({marks}) "
                        f"ORDER BY customer_id, position", *keep):
        emails.setdefault(cid, []).append(email)
    return [{"id": r["id"], "name": r["name"], "phones": phones.get(r["id"], []), "emails": emails.get(r["id"], []),
             "external_id": r["external_id"], "city": r["city"], "score": scores[r["id"]][0],
             "matched": scores[r["id"]][1]} for r in rows]
