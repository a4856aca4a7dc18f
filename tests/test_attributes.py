"""Custom attributes: numbers as people type them (Persian digits, ٫), nothing that is not a number, and two
plugins declaring one attribute name differently refused with both names."""

import pytest

from crmcore.api import CRM, AttributeSpec, PluginError, ValidationError, add_customer, hookimpl
from crmcore.importing import import_customers
from crmcore.storage.models import Customer


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("۱۲۳", 123),
        ("١٢", 12),
        (" 5 ", 5),
        (8, 8),
    ],
)
def test_a_whole_number_is_read_in_any_digits(raw, stored):
    assert AttributeSpec("visits", "int").clean(raw) == stored


@pytest.mark.parametrize("raw", ["1_000", "1,000", "12.5", "۱۲٫۵", "1e3", "ten", "--1", True])
def test_what_is_not_a_whole_number_is_refused(raw):
    with pytest.raises(ValidationError, match="is not a whole number") as err:
        AttributeSpec("visits", "int").clean(raw)
    assert err.value.field == "attributes.visits"


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("12.50", "12.50"),
        ("۱۲٫۵", "12.5"),
        ("-0.25", "-0.25"),
        (".5", "0.5"),
        ("3", "3"),
        ("1e3", "1E+3"),
    ],
)
def test_a_decimal_keeps_its_exact_digits(raw, stored):
    assert AttributeSpec("weight", "decimal").clean(raw) == stored


@pytest.mark.parametrize(
    "raw", ["NaN", "nan", "sNaN", "Infinity", "-inf", "1,5", "1_000.5", "abc", "1..2", "٫"]
)
def test_what_is_not_a_number_is_refused(raw):
    with pytest.raises(ValidationError, match="is not a number"):
        AttributeSpec("weight", "decimal").clean(raw)


class Club:
    @hookimpl
    def crm_customer_attributes(self):
        return [
            AttributeSpec("member_no", "int"),
            AttributeSpec("level", choices=("gold", "silver")),
        ]


class Gym:
    def __init__(self, spec):
        self.spec = spec

    @hookimpl
    def crm_customer_attributes(self):
        return [self.spec]


def test_two_plugins_declaring_one_name_differently_are_refused_with_both_names(crm_database_url):
    app = CRM(
        crm_database_url,
        plugins=[],
        extra_plugins=[
            ("club", Club(), None),
            ("gym", Gym(AttributeSpec("member_no", "str")), None),
        ],
    )
    with pytest.raises(PluginError, match="'member_no' is declared by both 'club' and 'gym'"):
        with app.unit_of_work() as uow:
            add_customer(uow, name="Sara", attributes={"member_no": "12"})
    with app.unit_of_work() as uow:
        assert uow.session.query(Customer).count() == 0
    app.dispose()


def test_the_same_declaration_from_two_plugins_is_one_attribute(crm_database_url):
    app = CRM(
        crm_database_url,
        plugins=[],
        extra_plugins=[
            ("club", Club(), None),
            ("gym", Gym(AttributeSpec("member_no", "int")), None),
        ],
    )
    with app.unit_of_work() as uow:
        c = add_customer(uow, name="سارا", attributes={"member_no": "۴۲", "level": "gold"})
        assert c.attributes == {"member_no": 42, "level": "gold"}
    app.dispose()


def test_an_imported_row_with_nan_is_rejected_whole(crm_database_url, tmp_path):
    app = CRM(
        crm_database_url,
        plugins=[],
        extra_plugins=[("scale", Gym(AttributeSpec("weight", "decimal")), None)],
    )
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        "name,mobile,attr.weight\nمریم,09121234567,۷۲٫۵\nReza,09121234568,NaN\n", encoding="utf-8"
    )
    summary = import_customers(app, sheet)
    assert (summary.created, summary.rejected) == (1, 1)
    rejection = summary.rejections[0]
    assert (rejection.row, rejection.field) == (3, "attributes.weight")
    assert "'NaN' is not a number" in rejection.reason
    with app.unit_of_work() as uow:
        assert [c.attributes for c in uow.session.query(Customer)] == [{"weight": "72.5"}]
    app.dispose()


class CountingClub(Club):
    def __init__(self):
        self.asked = 0

    @hookimpl
    def crm_customer_attributes(self):
        self.asked += 1
        return super().crm_customer_attributes()


def test_an_import_asks_the_plugins_for_their_attributes_once_not_per_row(
    crm_database_url, tmp_path
):
    club = CountingClub()
    app = CRM(crm_database_url, plugins=[], extra_plugins=[("club", club, None)])
    sheet = tmp_path / "members.csv"
    sheet.write_text(
        "name,attr.member_no,attr.level\n" + "".join(f"عضو {i},۱{i},gold\n" for i in range(50)),
        encoding="utf-8",
    )
    summary = import_customers(app, sheet)
    assert (summary.created, summary.rejected) == (50, 0)
    assert club.asked == 1
    with app.unit_of_work() as uow:
        assert sorted(c.attributes["member_no"] for c in uow.session.query(Customer)) == sorted(
            int(f"1{i}") for i in range(50)
        )
    app.dispose()


def test_an_import_under_two_disagreeing_plugins_rejects_each_row_that_has_the_attribute(
    crm_database_url, tmp_path
):
    app = CRM(
        crm_database_url,
        plugins=[],
        extra_plugins=[
            ("club", Club(), None),
            ("gym", Gym(AttributeSpec("member_no", "str")), None),
        ],
    )
    sheet = tmp_path / "members.csv"
    sheet.write_text("name,attr.member_no\nSara,12\nReza,\nAli,13\n", encoding="utf-8")
    summary = import_customers(app, sheet)
    assert (summary.created, summary.rejected) == (1, 2)
    assert [(r.row, r.field) for r in summary.rejections] == [
        (2, "attributes.member_no"),
        (4, "attributes.member_no"),
    ]
    assert all(
        "'member_no' is declared by both 'club' and 'gym'" in r.reason for r in summary.rejections
    )
    app.dispose()
