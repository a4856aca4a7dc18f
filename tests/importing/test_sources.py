import codecs

import pytest

from crmcore.api import ValidationError
from crmcore.importing.headers import CUSTOMER_ALIASES, header_key, map_columns, parse_mapping
from crmcore.importing.sources import cell_text, detect_delimiter, open_table

from .conftest import write_csv, write_xlsx

ROWS = [
    ["نام", "موبایل", "شهر"],
    ["علی رضایی", "09121234567", "تهران"],
    ["سارا", "09351234567", "شیراز"],
]


def read_all(path, **kw):
    t = open_table(path, **kw)
    return t, t.headers, list(t.rows)


@pytest.mark.parametrize(
    "encoding, expected",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1256", "cp1256"),
        ("utf-16", "utf-16"),
    ],
)
def test_encoding_is_detected_and_persian_survives(tmp_path, encoding, expected):
    path = write_csv(tmp_path / "c.csv", ROWS, encoding=encoding)
    t, headers, rows = read_all(path)
    assert t.encoding == expected
    assert headers == ["نام", "موبایل", "شهر"]
    assert rows == [(2, ROWS[1]), (3, ROWS[2])]


def test_windows_1256_bytes_are_what_persian_excel_writes(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("نام,شهر\r\nمريم,کرج\r\n".encode("cp1256"))  # cp1256 has only the Arabic yeh
    assert not path.read_bytes().startswith(codecs.BOM_UTF8)
    t, headers, rows = read_all(path)
    assert (t.encoding, headers, rows) == ("cp1256", ["نام", "شهر"], [(2, ["مریم", "کرج"])])


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path, delimiter):
    rows = [
        ["name", "phone", "city"],
        ["Ali, Jr.", "0912 123 4567", "Tehran"],
        ["Sara", "0935", "Karaj"],
    ]
    path = write_csv(tmp_path / "c.csv", rows, delimiter=delimiter)
    t, headers, got = read_all(path)
    assert t.delimiter == delimiter
    assert headers == rows[0] and [r for _n, r in got] == rows[1:]


def test_space_aligned_files_are_read_as_whitespace_separated(tmp_path):
    path = tmp_path / "cd.txt"
    path.write_text(
        " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n"
    )
    t, headers, rows = read_all(path)
    assert t.delimiter == " "
    assert headers == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert rows[1] == (3, ["00002", "19970112", "5", "77.00"])


def test_detect_delimiter_prefers_the_consistent_split():
    assert detect_delimiter("a;b;c\n1,5;2;3\n4;5,5;6\n") == ";"
    assert detect_delimiter("name\nAli\n") == ","


def test_explicit_encoding_and_delimiter_are_checked(tmp_path):
    path = write_csv(tmp_path / "c.csv", ROWS)
    with pytest.raises(ValidationError, match="unknown encoding"):
        open_table(path, encoding="latin-9")
    with pytest.raises(ValidationError, match="unknown delimiter"):
        open_table(path, delimiter="#")
    t, headers, rows = read_all(path, encoding="utf8", delimiter="comma")
    assert len(rows) == 2


def test_unreadable_files_are_refused_clearly(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValidationError, match="empty"):
        open_table(empty)
    with pytest.raises(ValidationError, match="not a readable file"):
        open_table(tmp_path / "missing.csv")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(ValidationError, match="not a readable XLSX"):
        open_table(bad)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf")
    with pytest.raises(ValidationError, match="save the sheet as .xlsx"):
        open_table(old)


def test_xlsx_cells_become_the_text_a_person_sees(tmp_path):
    from datetime import date, datetime

    path = write_xlsx(
        tmp_path / "c.xlsx",
        [
            ["name", "mobile", "birthday", "amount", None],
            ["Ali", 9121234567, date(1991, 8, 3), 11.77, None],
            ["Sara", 9351234567.0, datetime(1990, 1, 2, 0, 0), 3, None],
        ],
    )
    t, headers, rows = read_all(path)
    assert t.format == "xlsx" and headers == ["name", "mobile", "birthday", "amount"]
    assert rows == [
        (2, ["Ali", "9121234567", "1991-08-03", "11.77"]),
        (3, ["Sara", "9351234567", "1990-01-02", "3"]),
    ]
    assert cell_text(0.1 + 0.2) == "0.30000000000000004"  # shown as stored, never rounded silently
    assert cell_text(True) == "yes" and cell_text(None) == ""


def test_xlsx_sheet_by_name(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "other"
    ws = wb.create_sheet("مشتریان")
    ws.append(["نام"])
    ws.append(["رضا"])
    wb.save(tmp_path / "s.xlsx")
    _t, headers, rows = read_all(tmp_path / "s.xlsx", sheet="مشتریان")
    assert headers == ["نام"] and rows == [(2, ["رضا"])]
    with pytest.raises(ValidationError, match="no sheet 'x'.*other, مشتریان"):
        open_table(tmp_path / "s.xlsx", sheet="x")


@pytest.mark.parametrize(
    "headers, fields",
    [
        (
            [
                "نام",
                "نام خانوادگی",
                "موبایل",
                "تلفن",
                "ایمیل",
                "شهر",
                "آدرس",
                "تاریخ تولد",
                "برچسب",
                "کد مشتری",
            ],
            [
                "first_name",
                "last_name",
                "phone",
                "phone",
                "email",
                "city",
                "address",
                "birthday",
                "tags",
                "external_id",
            ],
        ),
        (
            [
                "Name",
                "Mobile",
                "Phone 2",
                "E-mail",
                "City",
                "Date of Birth",
                "Tags",
                "Customer Code",
                "Notes",
            ],
            ["name", "phone", "phone", "email", "city", "birthday", "tags", "external_id", None],
        ),
        (
            ["نام", "تلفن‌همراه", "ايميل", "برچسب‌ها", "attr.national_id"],
            ["name", "phone", "email", "tags", "attr.national_id"],
        ),
    ],
)
def test_headers_are_recognised_in_english_and_persian(headers, fields):
    cmap = map_columns(headers, CUSTOMER_ALIASES, {}, extra_prefixes=("attr.",))
    assert list(cmap.fields) == fields


def test_hand_mapping_wins_and_is_checked():
    headers = ["Full", "Cell", "Name"]
    cmap = map_columns(
        headers, CUSTOMER_ALIASES, parse_mapping(["Full=name", "Cell=phone", "Name=ignore"])
    )
    assert list(cmap.fields) == ["name", "phone", None]
    with pytest.raises(ValidationError, match="names column 'nope'"):
        map_columns(headers, CUSTOMER_ALIASES, parse_mapping(["nope=name"]))
    with pytest.raises(ValidationError, match="target 'colour' is not a field"):
        map_columns(headers, CUSTOMER_ALIASES, parse_mapping(["Full=colour"]))
    with pytest.raises(ValidationError, match="not COLUMN=FIELD"):
        parse_mapping(["Full"])
    with pytest.raises(ValidationError, match="two columns mean 'city'"):
        map_columns(["name", "city", "شهر"], CUSTOMER_ALIASES, {})


def test_header_key_folds_letters_spacing_and_numbers():
    assert header_key("تلفن_۲") == header_key("تلفن") == "تلفن"
    assert header_key("  E-Mail ") == "e mail"
    assert header_key("كد مشتري") == header_key("کد مشتری")
