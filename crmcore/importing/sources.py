"""Read a table from a CSV or XLSX file, streaming, as rows of text cells.

CSV: the encoding is found from a byte-order mark (UTF-8, UTF-16), else the whole file is checked as
UTF-8 (cheap, streaming), else it is Windows-1256 (what Persian Excel writes for "CSV"; its Arabic
yeh, the only yeh that code page has, is read back as Persian ی). The delimiter is the one of ``,``
``;`` tab ``|`` that splits the first lines into the same number of columns; files aligned with
spaces (like CDNOW's) are read as whitespace-separated. XLSX: openpyxl's read-only mode (streams the
sheet), within :class:`XlsxLimits` checked while the workbook is read: a crafted file is refused in
one line before it fills the memory.

Row numbers are what a spreadsheet shows: the header is row 1, the first data row is row 2. Control
characters in column names are written as escapes (``\\x1b``): the names are shown on terminals.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import attrs

from ..domain.text import escape_controls
from ..errors import ValidationError

DELIMITERS = {
    ",": ",",
    ";": ";",
    "\t": "\t",
    "|": "|",
    "tab": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
    "whitespace": " ",
    " ": " ",
}
ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "cp1256": "cp1256",
    "windows-1256": "cp1256",
    "utf-16": "utf-16",
}
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


def open_table(
    path: str | os.PathLike,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    xlsx_limits: "XlsxLimits | None" = None,
) -> Table:
    """Open ``path`` (``.csv``/``.txt``/``.tsv`` or ``.xlsx``) and read its header row.
    ``xlsx_limits``: by default :meth:`XlsxLimits.from_environment`."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{str(path)!r} is not a readable file", field="file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, sheet, xlsx_limits or XlsxLimits.from_environment())
    if suffix in (".xls", ".ods"):
        raise ValidationError(
            f"{path.name}: {suffix} files are not read; save the sheet as .xlsx or .csv",
            field="file",
        )
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
            raise ValidationError(
                f"unknown encoding {encoding!r} (known: {', '.join(ENCODINGS)})", field="encoding"
            )
    else:
        enc = detect_encoding(path)
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES).decode(enc, errors="ignore")
    if delimiter:
        delim = DELIMITERS.get(delimiter if delimiter in DELIMITERS else delimiter.lower())
        if delim is None:
            raise ValidationError(
                f"unknown delimiter {delimiter!r} (use , ; tab | or space)", field="delimiter"
            )
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
            headers = [escape_controls(c.strip().lstrip("\ufeff").strip()) for c in cells]
            break
    except UnicodeDecodeError as exc:
        text.close()
        raise ValidationError(
            f"{path.name} is not {enc} text ({exc.reason}); give --encoding", field="file"
        ) from None
    except csv.Error as exc:
        text.close()
        raise ValidationError(f"{path.name} is not readable CSV: {exc}", field="file") from None
    if not any(headers):
        text.close()
        raise ValidationError(
            f"{path.name} is empty: the first row must hold the column names", field="file"
        )

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from numbered
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"{path.name} is not {enc} text after byte {counting.count} ({exc.reason}); "
                "give --encoding",
                field="file",
            ) from None
        except csv.Error as exc:
            raise ValidationError(f"{path.name} is not readable CSV: {exc}", field="file") from None
        finally:
            text.close()

    return Table(
        headers=headers,
        rows=rows(),
        format="csv",
        encoding=enc,
        delimiter=delim,
        size=path.stat().st_size,
        unit="bytes",
        position=lambda: counting.count,
        close=text.close,
    )


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
        return str(
            Decimal(repr(value))
        )  # the shortest text that reads back as this float, never its noise
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@attrs.frozen
class XlsxLimits:
    """What an ``.xlsx`` may hold; more is refused with a one-line error, before it can fill the
    memory.

    - ``unpacked``: bytes of all the workbook's parts together once unzipped, as the archive's
      directory declares them (checked first; Python's zipfile never unpacks more than a part
      declares);
    - ``cell``: characters in one cell — Excel's own limit, 32,767. While a part is unpacked, no
      text between two XML tags may be longer than that many characters can take in UTF-8 (so one
      huge cell is refused after a few hundred kilobytes), and each row's cells are measured
      exactly;
    - ``rows``: rows of the sheet read, the header included — Excel's own limit, 1,048,576. Checked
      from the sheet's declared size (or, when it declares none, by counting the rows' tags in one
      pass over the sheet that unpacks without parsing) before the first row is read, and while
      reading.

    Set them with ``$CRM_XLSX_MAX_UNPACKED_MB``, ``$CRM_XLSX_MAX_CELL`` and ``$CRM_XLSX_MAX_ROWS``.
    """

    unpacked: int = 1 << 30
    cell: int = 32_767
    rows: int = 1_048_576

    ENVIRONMENT = (
        ("unpacked", "CRM_XLSX_MAX_UNPACKED_MB", 1 << 20),
        ("cell", "CRM_XLSX_MAX_CELL", 1),
        ("rows", "CRM_XLSX_MAX_ROWS", 1),
    )

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> "XlsxLimits":
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, variable, unit in cls.ENVIRONMENT:
            text = environ.get(variable, "").strip()
            if text:
                if not text.isdigit() or int(text) < 1:
                    raise ValidationError(f"{text!r} is not a whole number above 0", field=variable)
                values[name] = int(text) * unit
        return cls(**values)

    def hint(self, name: str) -> str:
        variable = next(v for n, v, _u in self.ENVIRONMENT if n == name)
        return f"set {variable} to allow more"


#: bytes of text between two XML tags, besides the cell's own characters, that one cell may carry
_MARKUP = 1024


class _CheckedPart:
    """A part of the workbook as openpyxl unpacks it, measured on the way: a run of bytes without a
    tag (``<``) longer than ``longest`` is a cell beyond the limit, refused before the XML parser
    holds it."""

    def __init__(self, raw, file: str, limits: XlsxLimits):
        self._raw = raw
        self._file = file
        self._limits = limits
        self._longest = limits.cell * 4 + _MARKUP  # UTF-8 takes at most 4 bytes a character
        self._run = 0  # bytes since the last "<"

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        longest = self._longest
        first = data.find(b"<")
        if first < 0:
            self._run += len(data)
            if self._run > longest:
                raise self._too_big()
            return
        if self._run + first > longest:
            raise self._too_big()
        last = data.rfind(b"<")
        # a run longer than `longest` between two "<" of this piece holds a whole aligned block of
        # half that length without any "<": only such blocks are measured (memchr speed, no copies)
        half = longest // 2
        for start in range(first + 1, last - half + 1, half):
            if data.find(b"<", start, start + half) < 0:
                if data.find(b"<", start + half) - data.rfind(b"<", 0, start) - 1 > longest:
                    raise self._too_big()
        self._run = len(data) - last - 1

    def _too_big(self) -> ValidationError:
        return ValidationError(
            f"{self._file} has a cell of more than {self._limits.cell:,} "
            f"characters ({self._limits.hint('cell')})",
            field="file",
        )

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _checked_archive(path: Path, limits: XlsxLimits):
    """The workbook's zip archive, refused when its parts declare more than ``limits.unpacked``
    bytes; every part opened from it is read through :class:`_CheckedPart`."""
    import zipfile

    class CheckedZip(zipfile.ZipFile):
        def open(self, name, mode="r", *args, **kwargs):
            part = super().open(name, mode, *args, **kwargs)
            return _CheckedPart(part, path.name, limits) if mode == "r" else part

    archive = CheckedZip(path)
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > limits.unpacked:
        archive.close()
        raise ValidationError(
            f"{path.name} unpacks to {unpacked / (1 << 20):,.0f} MB, more than "
            f"the {limits.unpacked / (1 << 20):,.0f} MB an .xlsx may "
            f"({limits.hint('unpacked')})",
            field="file",
        )
    return archive


_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
_DIMENSION = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref=[\"'][A-Z]*(\d+)(?::[A-Z]*(\d+))?[\"']"
)
_SHEET_DATA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData[\s/>]")
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _sheet_rows(archive, member: str, stop: int) -> int:
    """The rows of a sheet part: as its ``<dimension>`` declares them, else its ``<row>`` tags
    counted in one pass that unpacks without parsing (openpyxl, finding no dimension, would parse
    the whole sheet to learn it has none, building an element per row); the count stops past
    ``stop``."""
    count, tail, tag = 0, b"", None
    with archive.open(member) as part:
        while chunk := part.read(CHUNK):
            data = tail + chunk
            if tag is None:
                root, data_start = _ROOT.search(data), _SHEET_DATA.search(data)
                if (root is None or data_start is None) and len(data) < 4 * CHUNK:
                    tail = data  # the sheet's head is longer than a chunk: read on
                    continue
                head_end = data_start.start() if data_start else len(data)
                declared = _DIMENSION.search(data, 0, head_end)
                if declared:
                    return int(declared.group(2) or declared.group(1))
                tag = b"<" + (root.group(1) + b":" if root and root.group(1) else b"") + b"row"
            cut = data.rfind(b"<")  # a tag cut by the chunk's end is counted with the next chunk
            data, tail = (data[:cut], data[cut:]) if cut >= max(0, len(data) - 64) else (data, b"")
            count += data.count(tag) - data.count(tag + b"B")  # not <rowBreaks>
            if count > stop:
                break
    return count


def _worksheet_parts(archive) -> list[str]:
    """The worksheet parts of the workbook, as its ``[Content_Types].xml`` lists them."""
    from xml.etree.ElementTree import fromstring

    try:
        types = fromstring(archive.read("[Content_Types].xml"))
    except (KeyError, SyntaxError):
        return []  # openpyxl says what is wrong with the file
    return [
        o.get("PartName", "").lstrip("/") for o in types if o.get("ContentType") == WORKSHEET_TYPE
    ]


def _open_xlsx(path: Path, sheet: str | None, limits: XlsxLimits) -> Table:
    import zipfile

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.exceptions import InvalidFileException

    archive = None
    try:
        archive = _checked_archive(path, limits)
        sheet_rows: dict[str, int] = {}
        for member in _worksheet_parts(archive):
            if member in archive.NameToInfo:
                sheet_rows[member] = _sheet_rows(archive, member, limits.rows)
        if max(sheet_rows.values(), default=0) > limits.rows:
            raise ValidationError(
                f"{path.name}: a sheet has more than {limits.rows:,} rows ({limits.hint('rows')})",
                field="file",
            )
        # load_workbook(path, read_only=True, data_only=True), reading through the checked archive
        reader = ExcelReader(path, read_only=True, data_only=True)
        reader.archive.close()
        reader.archive = archive
        reader.read()
        wb = reader.wb
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        if archive is not None:
            archive.close()
        # openpyxl's own messages run over several lines
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValidationError(
            f"{path.name} is not a readable XLSX workbook: {detail}", field="file"
        ) from None
    except ValidationError:
        if archive is not None:
            archive.close()
        raise
    try:
        if sheet:
            if sheet not in wb.sheetnames:
                raise ValidationError(
                    f"no sheet {sheet!r} in {path.name} (sheets: {', '.join(wb.sheetnames)})",
                    field="sheet",
                )
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        # openpyxl's read-only sheet knows its part in the archive
        declared = ws.max_row or sheet_rows.get(getattr(ws, "_worksheet_path", None), 0)
        it = ws.iter_rows(values_only=True)
        counter = {"row": 0}
        headers: list[str] = []
        for values in it:
            counter["row"] += 1
            headers = [escape_controls(cell_text(v).strip()) for v in values]
            break
    except BaseException:
        wb.close()
        raise
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        wb.close()
        raise ValidationError(
            f"{path.name} is empty: the first row must hold the column names", field="file"
        )
    if any(len(h) > limits.cell for h in headers):
        wb.close()
        raise ValidationError(
            f"{path.name} has a cell of more than {limits.cell:,} characters "
            f"({limits.hint('cell')})",
            field="file",
        )

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for values in it:
                counter["row"] += 1
                if counter["row"] > limits.rows:
                    raise ValidationError(
                        f"{path.name}: the sheet has more than "
                        f"{limits.rows:,} rows ({limits.hint('rows')})",
                        field="file",
                    )
                cells = [cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                if cells and max(map(len, cells)) > limits.cell:
                    raise ValidationError(
                        f"{path.name} has a cell of more than {limits.cell:,} "
                        f"characters in row {counter['row']} "
                        f"({limits.hint('cell')})",
                        field="file",
                    )
                yield counter["row"], cells
        finally:
            wb.close()

    return Table(
        headers=headers,
        rows=rows(),
        format="xlsx",
        size=declared,
        unit="rows",
        position=lambda: counter["row"],
        close=wb.close,
    )
