"""After a small import into a larger table, possible duplicates by name are found through the name-token
index; they must be exactly the groups the whole-table query finds, on both databases."""

import random

from sqlalchemy import event, func, select

from crmcore.importing import import_customers
from crmcore.importing.duplicates import _all_name_groups, _near_name_groups, iter_name_groups
from crmcore.storage.models import Customer

from .conftest import write_csv

NAMES = [
    "علی رضا کریمی",
    "علیرضا کریمی",
    "علي رضا كريمي",
    "سارا احمدی",
    "سارا  احمدي",
    "Sara Ahmadi",
    "sara ahmadi",
    "مهسا",
    "مه سا",
    "Reza",
    "reza karimi",
    "رضا کریمی",
    "زهرا موسوی",
    "زهرا موسوي نژاد",
]
CITIES = ["تهران", "Tehran", "کرج", ""]
BIRTHDAYS = ["1370-01-01", "1365-05-12", ""]


def rows(rng: random.Random, n: int, start: int) -> list[list[str]]:
    return [
        [rng.choice(NAMES), f"0912{start + i:07d}", rng.choice(CITIES), rng.choice(BIRTHDAYS)]
        for i in range(n)
    ]


def groups(found):
    return [(g["match"], g["value"], g["ids"]) for g in found]


def test_token_lookup_finds_the_same_groups_as_the_whole_table(crm_app, tmp_path):
    rng = random.Random(1405)
    header = ["نام", "موبایل", "شهر", "تاریخ تولد"]
    import_customers(crm_app, write_csv(tmp_path / "base.csv", [header, *rows(rng, 120, 0)]))
    start = 120
    for round_ in range(4):
        with crm_app.unit_of_work() as uow:
            min_id = uow.session.scalar(select(func.max(Customer.id))) + 1
        n = rng.randint(1, 20)
        summary = import_customers(
            crm_app, write_csv(tmp_path / f"new{round_}.csv", [header, *rows(rng, n, start)])
        )
        start += n
        with crm_app.unit_of_work() as uow:
            near = _near_name_groups(uow.session, min_id)
            assert near is not None, "a small import uses the token index"
            whole = list(_all_name_groups(uow.session, min_id=min_id))
            assert sorted(groups(near), key=repr) == sorted(groups(whole), key=repr)
            assert groups(iter_name_groups(uow.session, min_id=min_id)) == groups(near)
        assert summary.possible_duplicates == len(near)
        assert near, "the name pool is small: every round has twins"


def test_a_large_import_sorts_the_whole_table(crm_app, tmp_path):
    rng = random.Random(7)
    header = ["نام", "موبایل", "شهر", "تاریخ تولد"]
    import_customers(crm_app, write_csv(tmp_path / "base.csv", [header, *rows(rng, 20, 0)]))
    import_customers(crm_app, write_csv(tmp_path / "more.csv", [header, *rows(rng, 20, 20)]))
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    with crm_app.unit_of_work() as uow:
        event.listen(crm_app.engine, "before_cursor_execute", seen)
        try:
            assert _near_name_groups(uow.session, 21) is None  # 20 new customers > a quarter of 20
        finally:
            event.remove(crm_app.engine, "before_cursor_execute", seen)
        # decided by a count: the new customers' names are not read (a million of them would be held at once)
        assert statements and not any("search_key" in s.split("FROM")[0] for s in statements), (
            statements
        )
        assert groups(iter_name_groups(uow.session, min_id=21)) == groups(
            _all_name_groups(uow.session, min_id=21)
        )


def test_a_very_long_name_key_uses_the_whole_table(crm_app, tmp_path):
    rng = random.Random(3)
    header = ["نام", "موبایل", "شهر", "تاریخ تولد"]
    import_customers(crm_app, write_csv(tmp_path / "base.csv", [header, *rows(rng, 40, 0)]))
    long_name = "ا" * 160
    import_customers(
        crm_app, write_csv(tmp_path / "long.csv", [header, [long_name, "09129999999", "تهران", ""]])
    )
    with crm_app.unit_of_work() as uow:
        assert _near_name_groups(uow.session, 41) is None
