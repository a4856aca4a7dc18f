"""Rows a fault campaign found aborting a whole file (or crashing): each is now refused on its own,
naming its row and field in the errors file, and the rest of the file is imported — on both
databases. The errors file may not be the input file; column names and values reach the terminal
with their escape codes escaped; an .xlsx is held to limits while it is read."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from crmcore.errors import ValidationError
from crmcore.importing import import_customers, import_interactions
from crmcore.importing.sources import XlsxLimits, open_table
from crmcore.storage.models import Customer, Interaction
from crmcore.testing import make_customer

from .conftest import write_csv, write_xlsx


def errors_of(path: Path) -> list[tuple[str, str, str]]:
    """(row, field, start of the reason) of each rejected row in an errors file."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["row", "field", "reason"]
    return [(r[0], r[1], r[2]) for r in rows[1:]]


def stored_names(app) -> list[str]:
    with app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(Customer.display_name).order_by(Customer.id)))


def stored_amounts(app) -> list[int]:
    with app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(Interaction.amount_minor).order_by(Interaction.id)))


# --- customers ------------------------------------------------------------------------------------
def test_bad_customer_rows_are_refused_one_by_one_and_the_rest_is_imported(
    crm_app, crm_cli, tmp_path
):
    path = write_csv(
        tmp_path / "c.csv",
        [
            ["name", "mobile", "city", "birthday", "tags", "customer code"],
            ["مریم رضایی", "09120000001", "تهران", "1370/05/12", "vip", "C-1"],
            [
                "Ali\x00Karimi",
                "09120000002",
                "",
                "",
                "",
                "",
            ],  # NUL: killed the import on PostgreSQL
            ["سارا", "09120000003", "شیراز\x1b[31m", "", "", ""],
            ["نیما", "09120000004", "", "2099-01-01", "", ""],
            ["نیما", "09120000005", "", "1478/01/01", "", ""],  # the same future, Jalali
            ["کاوه", "09120000006", "", "1850-01-01", "", ""],
            ["پریسا", "09120000007", "", "", "ok\x07", ""],
            ["بهرام", "09120000008", "", "", "", "C\x00-2"],
            ["علی\u200cرضا\u200f", "09120000009", "رشت", "1278-10-11", "", "C-3"],
        ],
    )
    result = crm_cli("customers", "import", str(path), "--errors", str(tmp_path / "err.csv"))
    assert result.exit_code == 1, result
    assert stored_names(crm_app) == ["مریم رضایی", "علی\u200cرضا\u200f"]
    assert [(row, field) for row, field, _ in errors_of(tmp_path / "err.csv")] == [
        ("3", "name"),
        ("4", "city"),
        ("5", "birthday"),
        ("6", "birthday"),
        ("7", "birthday"),
        ("8", "tag"),
        ("9", "external_id"),
    ]
    reasons = [reason for _r, _f, reason in errors_of(tmp_path / "err.csv")]
    assert reasons[0].startswith("the control character U+0000")
    assert "in the future" in reasons[2] and "in the future" in reasons[3]
    assert "before 1900-01-01" in reasons[4]
    assert "row 3: name: the control character U+0000" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr


def test_a_bad_attribute_value_is_refused_with_its_row(crm_app_factory, tmp_path):
    from crmcore.api import AttributeSpec, hookimpl

    class Club:
        @hookimpl
        def crm_customer_attributes(self):
            return [AttributeSpec("nickname")]

    app = crm_app_factory(extra_plugins=[("club", Club(), None)])
    path = write_csv(
        tmp_path / "c.csv", [["name", "attr.nickname"], ["مریم", "مری"], ["سارا", "سا\x00را"]]
    )
    s = import_customers(app, path)
    assert (s.created, s.rejected) == (1, 1)
    assert (s.rejections[0].row, s.rejections[0].field) == (3, "attributes.nickname")


# --- interactions ---------------------------------------------------------------------------------
def test_bad_interaction_rows_are_refused_one_by_one_and_the_rest_is_imported(
    crm_app, crm_cli, tmp_path
):
    make_customer(crm_app, "مریم", phones=["09121234567"])
    path = write_csv(
        tmp_path / "i.csv",
        [
            ["customer", "kind", "date", "amount", "channel", "branch"],
            ["09121234567", "purchase", "1403-07-15", "1000", "store", "ونک"],
            # rolled the whole file back, naming no row
            ["09121234567", "purchase", "1403-07-15", "99999999999999999999", "store", "ونک"],
            ["09121234567", "purchase", "9999-12-31", "1000", "store", "ونک"],
            ["09121234567", "purchase", "1404-01-03", "1000", "store", "ونک"],  # over a day ahead
            ["09121234567", "purchase", "1278-01-01", "1000", "store", "ونک"],
            ["0912123\x004567", "purchase", "1403-07-15", "1000", "store", "ونک"],
            ["09121234567", "purchase", "1403-07-16", "1000", "st\x00ore", "ونک"],
            ["09121234567", "purchase", "1403-07-16", "1000", "store", "ون\x00ک"],
            ["09121234567", "purchase", "1403-07-17", "9223372036854775807", "store", "ونک"],
        ],
    )
    result = crm_cli("interactions", "import", str(path), "--errors", str(tmp_path / "err.csv"))
    assert result.exit_code == 1, result
    assert stored_amounts(crm_app) == [1000, 9223372036854775807]
    assert [(row, field) for row, field, _ in errors_of(tmp_path / "err.csv")] == [
        ("3", "amount"),
        ("4", "occurred_at"),
        ("5", "occurred_at"),
        ("6", "occurred_at"),
        ("7", "customer"),
        ("8", "channel"),
        ("9", "payload.branch"),
    ]
    assert "row 3: amount: '99999999999999999999' is out of range" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_new_customers_name_with_a_control_character_is_refused_with_its_row(crm_app, tmp_path):
    path = write_csv(
        tmp_path / "i.csv",
        [
            ["customer", "name", "kind", "date"],
            ["C-1", "مریم", "visit", "1403-07-15"],
            ["C-2", "سا\x1bرا", "visit", "1403-07-15"],
        ],
    )
    s = import_interactions(crm_app, path, create_customers=True)
    assert (s.recorded, s.customers_created, s.rejected) == (1, 1, 1)
    assert (s.rejections[0].row, s.rejections[0].field) == (3, "customer_name")


# --- the errors file ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, rows",
    [
        ("customers", [["name", "mobile"], ["سارا", "09121110000"]]),
        ("interactions", [["customer", "kind", "date"], ["09121234567", "visit", "1403-07-15"]]),
    ],
)
def test_an_errors_file_that_is_the_input_is_refused_before_anything_happens(
    crm_app, crm_cli, tmp_path, monkeypatch, command, rows
):
    make_customer(crm_app, "مریم", phones=["09121234567"])
    path = write_csv(tmp_path / "in.csv", rows)
    before = path.read_bytes()
    os.symlink(path, tmp_path / "link.csv")
    monkeypatch.chdir(tmp_path)
    for errors in (str(path), "./in.csv", "link.csv", str(tmp_path / "sub" / ".." / "in.csv")):
        (tmp_path / "sub").mkdir(exist_ok=True)
        result = crm_cli(command, "import", "in.csv", "--errors", errors)
        assert result.exit_code == 1, (errors, result)
        assert "field errors: the errors file" in result.stderr
        assert "is the file being imported" in result.stderr
        assert path.read_bytes() == before
    assert stored_names(crm_app) == ["مریم"] and stored_amounts(crm_app) == []
    assert crm_cli(command, "import", "in.csv", "--errors", "other.csv").exit_code == 0


def test_an_errors_file_that_cannot_be_written_is_a_one_line_error(crm_app, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["name"], ["سارا"]])
    with pytest.raises(ValidationError, match="cannot write the errors file") as caught:
        import_customers(crm_app, path, errors_path=tmp_path / "no" / "such" / "dir.csv")
    assert caught.value.field == "errors"
    assert stored_names(crm_app) == []


# --- what reaches the terminal --------------------------------------------------------------------
def test_column_names_and_values_are_echoed_with_their_escape_codes_escaped(
    crm_app, crm_cli, tmp_path
):
    header = ["name", "\x1b[2J\x1b]0;owned\x07notes", "mobile", "free\nnotes"]
    path = write_csv(tmp_path / "c.csv", [header, ["مریم", "x", "\x1b[31m0912", ""]])
    result = crm_cli("customers", "import", str(path))
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    assert "\x1b" not in out and "\x07" not in out
    assert "ignored columns: \\x1b[2J\\x1b]0;owned\\x07notes, free\\nnotes (map them" in out
    assert "row 2: phone: '\\x1b[31m0912' is not a phone number" in out
    bad = write_csv(tmp_path / "i.csv", [["\x1b[31mwho\nis", "date"], ["x", "1403-07-15"]])
    result = crm_cli("interactions", "import", str(bad), "--kind", "visit")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr
    assert "no customer column among \\x1b[31mwho\\nis, date" in result.stderr


def test_a_line_break_in_a_column_name_still_maps_the_column(crm_app, tmp_path):
    path = write_xlsx(tmp_path / "c.xlsx", [["Customer\nName", "Customer\nCode"], ["مریم", "C-1"]])
    s = import_customers(crm_app, path)
    assert (s.created, s.ignored_columns) == (1, [])


# --- XLSX limits ----------------------------------------------------------------------------------
SHEET = "xl/worksheets/sheet1.xml"
MAIN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def xlsx_with_sheet(tmp_path: Path, sheet_xml: bytes, name: str = "big.xlsx") -> Path:
    """An .xlsx openpyxl wrote, with its first sheet replaced by ``sheet_xml``."""
    base = write_xlsx(tmp_path / "base.xlsx", [["name"], ["x"]])
    out = tmp_path / name
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, sheet_xml if info.filename == SHEET else zin.read(info.filename))
    return out


def inline(row: int, text: str, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    return (
        f'<{p}row r="{row}"><{p}c r="A{row}" t="inlineStr"><{p}is><{p}t>{text}</{p}t></{p}is>'
        f"</{p}c></{p}row>"
    ).encode()


def sheet(rows: list[bytes], dimension: str | None = None, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns:{prefix}" if prefix else "xmlns"
    root = MAIN.replace(b"<worksheet xmlns=", f"<{p}worksheet {xmlns}=".encode())
    head = f'<{p}dimension ref="{dimension}"/>'.encode() if dimension else b""
    return (
        root
        + head
        + f"<{p}sheetData>".encode()
        + b"".join(rows)
        + f"</{p}sheetData></{p}worksheet>".encode()
    )


def test_a_cell_beyond_the_limit_is_refused_while_the_part_is_unpacked(
    crm_app, tmp_path, monkeypatch
):
    big = "x" * 200_000  # more than 32,767 characters take even in UTF-8 with markup
    path = xlsx_with_sheet(
        tmp_path, sheet([inline(1, "name"), inline(2, "ok"), inline(3, big)], "A1:A3")
    )
    with pytest.raises(
        ValidationError,
        match=r"big.xlsx has a cell of more than 32,767 characters "
        r"\(set CRM_XLSX_MAX_CELL to allow more\)",
    ):
        list(open_table(path).rows)
    # each cell is measured exactly too: 40,000 characters pass the byte count but not the limit
    path = xlsx_with_sheet(tmp_path, sheet([inline(1, "name"), inline(2, "x" * 40_000)], "A1:A2"))
    with pytest.raises(ValidationError, match="in row 2"):
        list(open_table(path).rows)
    monkeypatch.setenv("CRM_XLSX_MAX_CELL", "50000")
    assert [len(c[0]) for _n, c in open_table(path).rows] == [40_000]
    s = import_customers(crm_app, path)
    assert s.rejected == 1 and "longer than 300" in s.rejections[0].reason


def test_a_huge_shared_string_is_refused_before_openpyxl_holds_it(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", [["name"], ["x"]])
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts["xl/sharedStrings.xml"] = (
        MAIN.replace(b"worksheet", b"sst") + b"<si><t>" + b"y" * 300_000 + b"</t></si></sst>"
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    with pytest.raises(ValidationError, match="has a cell of more than 32,767 characters"):
        open_table(path)


def test_an_archive_that_unpacks_beyond_the_limit_is_refused_from_its_directory(
    tmp_path, monkeypatch
):
    rows = [inline(1, "name")] + [inline(i, "x" * 1000) for i in range(2, 2100)]
    path = xlsx_with_sheet(tmp_path, sheet(rows))
    assert path.stat().st_size < 100_000  # 2 MB unpacked
    monkeypatch.setenv("CRM_XLSX_MAX_UNPACKED_MB", "1")
    with pytest.raises(
        ValidationError,
        match=r"big.xlsx unpacks to 2 MB, more than the 1 MB an "
        r".xlsx may \(set CRM_XLSX_MAX_UNPACKED_MB to allow "
        r"more\)",
    ):
        open_table(path)
    assert len(list(open_table(path, xlsx_limits=XlsxLimits(unpacked=3 << 20)).rows)) == 2098


@pytest.mark.parametrize("dimension, prefix", [("A1:A7", ""), (None, ""), (None, "x")])
def test_a_sheet_with_more_rows_than_the_limit_is_refused_before_the_first_row(
    tmp_path, dimension, prefix
):
    rows = [inline(i, f"r{i}", prefix) for i in range(1, 8)]
    path = xlsx_with_sheet(tmp_path, sheet(rows, dimension, prefix))
    with pytest.raises(ValidationError, match=r"a sheet has more than 6 rows \(set CRM_XLSX_MA"):
        open_table(path, xlsx_limits=XlsxLimits(rows=6))
    table = open_table(path, xlsx_limits=XlsxLimits(rows=7))
    assert table.size == 7 and [c for _n, c in table.rows] == [[f"r{i}"] for i in range(2, 8)]


def test_rows_beyond_the_limit_are_refused_while_reading_when_the_sheet_hides_them(tmp_path):
    # one <row> tag numbered far down, no dimension: openpyxl fills the rows in between
    path = xlsx_with_sheet(tmp_path, sheet([inline(1, "name"), inline(2, "a"), inline(50, "b")]))
    table = open_table(path, xlsx_limits=XlsxLimits(rows=10))
    read = []
    with pytest.raises(ValidationError, match="the sheet has more than 10 rows"):
        for n, _cells in table.rows:
            read.append(n)
    assert read == list(range(2, 11))


def test_the_limits_are_read_from_the_environment():
    assert XlsxLimits.from_environment({}) == XlsxLimits(
        unpacked=1 << 30, cell=32_767, rows=1_048_576
    )
    environ = {
        "CRM_XLSX_MAX_UNPACKED_MB": "10",
        "CRM_XLSX_MAX_CELL": "100",
        "CRM_XLSX_MAX_ROWS": "5",
    }
    assert XlsxLimits.from_environment(environ) == XlsxLimits(10 << 20, 100, 5)
    with pytest.raises(ValidationError, match="CRM_XLSX_MAX_ROWS"):
        XlsxLimits.from_environment({"CRM_XLSX_MAX_ROWS": "-1"})


def test_an_xlsx_refused_by_a_limit_stores_nothing_and_says_so_in_one_line(
    crm_app, crm_cli, tmp_path
):
    path = xlsx_with_sheet(tmp_path, sheet([inline(i, f"r{i}") for i in range(1, 8)]))
    result = crm_cli("customers", "import", str(path), env={"CRM_XLSX_MAX_ROWS": "5"})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: field file: big.xlsx: a sheet has more than 5 rows "
        "(set CRM_XLSX_MAX_ROWS to allow more)"
    )
    assert stored_names(crm_app) == []
