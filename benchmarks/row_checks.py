"""Per-row checks of a customer import, each against the plain way it replaced, measured in the same run.

Run: .venv/bin/python benchmarks/row_checks.py [--repeat 5]

- a Jalali birthday: `crmcore.domain.dates.jalali_to_gregorian` (jdatetime asked once per year) vs
  `jdatetime.date(y, m, d).togregorian()`, over 5,000 different days;
- a phone's cleaning in `crmcore.importing.fastphone`: one `str.translate` vs translating the digits,
  `strip()` and a `[\\s\\-.()/]+` substitution;
- a `PreparedCustomer` built with an instance dict (as now) vs the same attrs class with slots;
- an email checked with `email_address` (the text) vs `parse_email(...).address` (an `Email` value first);
- a row's dedup keys (`crmcore.importing.customers.row_keys`): the keys alone, their reasons worded only when
  a row matches (`key_reason`), vs each key with its reason worded for every row.
Printed: microseconds per call, the best of --repeat runs (the two ways alternate), and the ratio.
"""

from __future__ import annotations

import argparse
import re
import timeit
from typing import Any

import attrs


def main() -> None:
    import jdatetime

    from crmcore.domain.dates import jalali_to_gregorian
    from crmcore.domain.emails import email_address, parse_email
    from crmcore.importing.customers import row_keys
    from crmcore.importing.fastphone import _CLEAN, _COMPACT
    from crmcore.services.customers import PreparedCustomer, prepare_customer

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    days = [(1340 + i % 60, 1 + i % 12, 1 + i % 29) for i in range(5000)]
    phones = ["+98 912 000 0000", "۰۹۱۲۰۰۰۰۰۰۱", "0912-000-0002", "09120000003"]
    separators = re.compile(r"[\s\-.()/]+")

    @attrs.frozen
    class SlottedPreparedCustomer:
        name: str
        kind: str = "person"
        phones: tuple = ()
        emails: tuple = ()
        tags: tuple = ()
        external_id: str | None = None
        birthday: Any = None
        city: str | None = None
        address: str | None = None
        owner: str | None = None
        consent_sms: bool = False
        consent_email: bool = False
        attributes: dict = attrs.field(factory=dict)

    def prepared(cls):
        return lambda: cls(
            name="علی رضایی",
            kind="person",
            phones=(),
            emails=("a@x.ir",),
            tags=("vip",),
            external_id=None,
            birthday=None,
            city="تهران",
            address=None,
            owner=None,
            consent_sms=False,
            consent_email=False,
            attributes={},
        )

    def keys_with_reasons(p):  # before: every key with its reason worded
        keys = [("x:" + p.external_id, f"customer code {p.external_id}")] if p.external_id else []
        keys += [("p:" + ph.e164, f"phone {ph.e164}") for ph in p.phones]
        keys += [("e:" + e, f"email {e}") for e in p.emails]
        return keys

    person = prepare_customer(
        name="علی رضایی", phones=["09121234567"], emails=["ali@mail.ir"], external_id="C0001"
    )
    cases = [
        (
            "Jalali date",
            len(days),
            lambda: [jdatetime.date(*d).togregorian() for d in days],
            lambda: [jalali_to_gregorian(*d) for d in days],
        ),
        (
            "phone cleaning",
            len(phones),
            lambda: [separators.sub("", p.translate(_CLEAN).strip()) for p in phones],
            lambda: [p.translate(_COMPACT) for p in phones],
        ),
        ("PreparedCustomer", 1, prepared(SlottedPreparedCustomer), prepared(PreparedCustomer)),
        (
            "email check",
            1,
            lambda: parse_email("User1@Mail.ir").address,
            lambda: email_address("User1@Mail.ir"),
        ),
        ("row keys", 1, lambda: keys_with_reasons(person), lambda: row_keys(person)),
    ]
    print("per call, best of", args.repeat, "(before → now)")
    for label, per_run, before, now in cases:
        number = max(1, 20_000 // per_run)
        best = {"before": float("inf"), "now": float("inf")}
        for _ in range(args.repeat):
            for way, fn in (("before", before), ("now", now)):
                best[way] = min(
                    best[way], timeit.timeit(fn, number=number) / (number * per_run) * 1e6
                )
        print(
            f"  {label:17s}: {best['before']:6.2f} µs → {best['now']:5.2f} µs ({best['before'] / best['now']:.1f}x)"
        )


if __name__ == "__main__":
    main()
