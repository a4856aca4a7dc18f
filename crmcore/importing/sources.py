"""Read a table from a CSV or XLSX file, streaming, as rows of text cells.

CSV: the encoding is found from a byte-order mark (UTF-8, UTF-16), else the whole file is checked as UTF-8
(cheap, streaming), else it is Windows-1256 (what Persian Excel writes for "CSV"; its Arabic yeh, the only
yeh that code page has, is read back as Persian ی). The delimiter is the one of
``,`` ``;`` tab ``|`` that splits the first lines into the same number of columns; files aligned with spaces
(like CDNOW's) are read as whitespace-separated. XLSX: openpyxl's read-only mode (streams the sheet).

Row numbers are what a spreadsheet shows: the header is row 1, the first data row is row 2.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import attrs

from ..errors import ValidationError

DELIMITERS = {",": ",", ";": ";", "\t": "\t", "|": "|", "tab": "\t", "comma": ",", "semicolon": ";",
              "pipe": "|", "space": " ", "whitespace": " ", " ": " "}
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1256": "cp1256",
             "windows-1256": "cp1256", "utf-16": "utf-16"}
#: Windows-1256 has no Persian yeh (ی) and Persian Windows writes it as Arabic yeh (ي): give it back
CP1256_TO_PERSIAN = str.maketrans({"ي": "ی", "ى": "ی"})
SAMPLE_BYTES = 64 * 1024
CHUNK = 1 << 20


@attrs.define
class Table:
    """Headers and a one-pass iterator of ``(row_number, cells)``; ``position()`` / ``size`` for progress."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    size: int = 0
    unit: str = "bytes"  # what size and position() count: bytes (CSV) or rows (XLSX)
    _position: object = None
    _close: object = None

    def position(self) -> int:
        return self._position() if self._position else 0

    def close(self) -> None:
        if self._close:
            self._close()


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read (progress of a streamed CSV)."""

    def __init__(self, raw):
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        self.count += n or 0
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_table(path: str | os.PathLike, *, encoding: str | None = None, delimiter: str | None = None,
               sheet: str | None = None) -> Table:
    """Open ``path`` (``.csv``/``.txt``/``.tsv`` or ``.xlsx``) and read its header row."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{str(path)!r} is not a readable file", field="file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, sheet)
    if suffix in (".xls", ".ods"):
        raise ValidationError(f"{path.name}: {suffix} files are not read; save the sheet as .xlsx or .csv",
                              field="file")
    return _open_csv(path, encoding, delimiter)


# --- CSV --------------------------------------------------------------------------------------------------
def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` / ``utf-16`` from a byte-order mark, ``utf-8`` when every byte decodes, else ``cp1256``."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1256"
    return "utf-8"


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the sample's lines into one consistent number (>1) of columns."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut
    best, best_score = ",", (0.0, 0)
    for d in (",", ";", "\t", "|"):
        counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        if not counts:
            continue
        first = counts[0]
        if first < 2:
            continue
        score = (sum(c == first for c in counts) / len(counts), first)
        if score > best_score:
            best, best_score = d, score
    if best_score[0] >= 0.9:
        return best
    counts = [len(ln.split()) for ln in lines]
    if counts and counts[0] > 1 and sum(c == counts[0] for c in counts) / len(counts) >= 0.9:
        return " "
    return best if best_score[1] else ","


def _open_csv(path: Path, encoding: str | None, delimiter: str | None) -> Table:
    if encoding:
        enc = ENCODINGS.get(encoding.lower())
        if enc is None:
            raise ValidationError(f"unknown encoding {encoding!r} (known: {', '.join(ENCODINGS)})", field="encoding")
    else:
        enc = detect_encoding(path)
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES).decode(enc, errors="ignore")
    if delimiter:
        delim = DELIMITERS.get(delimiter if delimiter in DELIMITERS else delimiter.lower())
        if delim is None:
            raise ValidationError(f"unknown delimiter {delimiter!r} (use , ; tab | or space)", field="delimiter")
    else:
        delim = detect_delimiter(sample.lstrip("\ufeff"))
    counting = _CountingReader(open(path, "rb"))
    text = io.TextIOWrapper(io.BufferedReader(counting, CHUNK), encoding=enc, newline="")
    lines: Iterator[str] = text
    if enc == "cp1256":
        lines = (line.translate(CP1256_TO_PERSIAN) for line in text)
    if delim == " ":
        records: Iterator[list[str]] = (line.split() for line in lines)
    else:
        records = csv.reader(lines, delimiter=delim)
    numbered = enumerate(records, start=1)
    headers: list[str] = []
    try:
        for _n, cells in numbered:
            headers = [c.strip().lstrip("\ufeff").strip() for c in cells]
            break
    except UnicodeDecodeError as exc:
        text.close()
        raise ValidationError(f"{path.name} is not {enc} text ({exc.reason}); give --encoding", field="file") from None
    except csv.Error as exc:
        text.close()
        raise ValidationError(f"{path.name} is not readable CSV: {exc}", field="file") from None
    if not any(headers):
        text.close()
        raise ValidationError(f"{path.name} is empty: the first row must hold the column names", field="file")

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from numbered
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{path.name} is not {enc} text after byte {counting.count} ({exc.reason}); "
                                  "give --encoding", field="file") from None
        except csv.Error as exc:
            raise ValidationError(f"{path.name} is not readable CSV: {exc}", field="file") from None
        finally:
            text.close()

    return Table(headers=headers, rows=rows(), format="csv", encoding=enc, delimiter=delim,
                 size=path.stat().st_size, unit="bytes", position=lambda: counting.count, close=text.close)


# --- XLSX -------------------------------------------------------------------------------------------------
def cell_text(value) -> str:
    """A spreadsheet cell as the text a person sees: whole numbers without ``.0``, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(Decimal(repr(value)))  # the shortest text that reads back as this float, never its noise
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _open_xlsx(path: Path, sheet: str | None) -> Table:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ValidationError(f"{path.name} is not a readable XLSX workbook: {exc}", field="file") from None
    if sheet:
        if sheet not in wb.sheetnames:
            wb.close()
            raise ValidationError(f"no sheet {sheet!r} in {path.name} (sheets: {', '.join(wb.sheetnames)})",
                                  field="sheet")
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    counter = {"row": 0}
    headers: list[str] = []
    for values in it:
        counter["row"] += 1
        headers = [cell_text(v).strip() for v in values]
        break
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        wb.close()
        raise ValidationError(f"{path.name} is empty: the first row must hold the column names", field="file")

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for values in it:
                counter["row"] += 1
                cells = [cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                yield counter["row"], cells
        finally:
            wb.close()

    return Table(headers=headers, rows=rows(), format="xlsx", size=ws.max_row or 0, unit="rows",
                 position=lambda: counter["row"], close=wb.close)
