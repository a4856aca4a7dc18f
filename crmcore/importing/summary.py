"""What an import did: counts, rejected rows (and the errors file), notes, possible duplicates."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import Any, Collection

import attrs

from ..errors import ValidationError

#: how many notes / possible duplicates the summary keeps (the counts are always complete)
KEEP = 200


@attrs.define
class Rejection:
    row: int
    field: str | None
    reason: str
    values: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


class ErrorsFile:
    """Rejected rows as CSV (UTF-8 with BOM, so Excel shows Persian): row, field, reason, then the
    original columns with their original headers. Refused before anything is written when it is
    ``source``, the file being imported (by any name: a link, ``./``, another case on a
    case-insensitive disk)."""

    def __init__(
        self,
        path: str | Path | None,
        headers: list[str],
        *,
        source: str | Path | None = None,
        keep_through: int | None = None,
        keep_rows: Collection[int] = (),
    ):
        """``source``: the file being imported (refused as the errors file). ``keep_through``: a
        resumed import keeps the rows the file already holds up to this row number (those of its
        committed chunks), and those numbered in ``keep_rows``, and writes the rest anew."""
        self.path = Path(path) if path else None
        self._file = None
        self._writer = None
        self.headers = headers
        if self.path:
            if source is not None and self.path.exists() and os.path.samefile(self.path, source):
                raise ValidationError(
                    f"the errors file {str(self.path)!r} is the file being "
                    "imported; give another file for the rejected rows",
                    field="errors",
                )
            kept = (
                self._kept(keep_through, keep_rows) if keep_through is not None or keep_rows else []
            )
            try:
                self._file = open(self.path, "w", encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise ValidationError(
                    f"cannot write the errors file {str(self.path)!r}: {exc.strerror}",
                    field="errors",
                ) from None
            self._writer = csv.writer(self._file)
            self._writer.writerow(["row", "field", "reason", *headers])
            self._writer.writerows(kept)

    def _kept(self, through: int | None, rows: Collection[int]) -> list[list[str]]:
        if not self.path or not self.path.is_file():
            return []
        with open(self.path, encoding="utf-8-sig", newline="") as f:
            found = list(csv.reader(f))[1:]
        return [
            r
            for r in found
            if r
            and r[0].isdigit()
            and ((through is not None and int(r[0]) <= through) or int(r[0]) in rows)
        ]

    def write(self, r: Rejection) -> None:
        if self._writer:
            self._writer.writerow([r.row, r.field or "", r.reason, *r.values])

    def flush(self) -> None:
        """Write out what is buffered (an import does before each commit, so a killed import's file
        holds every rejected row of its committed chunks)."""
        if self._file:
            self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()


@attrs.define
class ImportSummary:
    """Counts of an import; ``rejected > 0`` makes the CLI exit with 1."""

    what: str  # customers | interactions
    file: str
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    dry_run: bool = False
    rows: int = 0
    blank: int = 0
    created: int = 0
    merged: int = 0  # rows whose data went into an existing customer or an earlier row
    unchanged: int = 0  # rows already fully present (a re-import)
    skipped: int = 0  # duplicates left alone (--on-duplicate skip)
    recorded: int = 0  # interactions stored
    already_imported: int = 0  # interactions found stored before this run
    customers_created: int = 0
    rejected: int = 0
    possible_duplicates: int = 0
    ignored_columns: list[str] = attrs.field(factory=list)
    rejections: list[Rejection] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    duplicates: list[dict[str, Any]] = attrs.field(factory=list)
    errors_file: str | None = None
    started: float = attrs.field(factory=time.perf_counter)
    seconds: float = 0.0
    hook_seconds: float = 0.0
    import_id: int | None = None  # the run in import_runs (none for a dry run)
    resumed_after: int | None = None  # a resumed import: the last row its earlier run committed
    #: customer messages not sent because their rows are history (message kind → count)
    suppressed: dict[str, int] = attrs.field(factory=dict)

    def reject(self, rejection: Rejection, errors: ErrorsFile) -> None:
        self.rejected += 1
        if len(self.rejections) < KEEP:
            self.rejections.append(rejection)
        errors.write(rejection)

    def note(self, text: str) -> None:
        if len(self.notes) < KEEP:
            self.notes.append(text)

    def possible_duplicate(self, item: dict[str, Any]) -> None:
        self.possible_duplicates += 1
        if len(self.duplicates) < KEEP:
            self.duplicates.append(item)

    #: what :meth:`state` keeps: the counts and the lists (the file's format comes from the file
    #: again)
    _STATE = (
        "rows",
        "blank",
        "created",
        "merged",
        "unchanged",
        "skipped",
        "recorded",
        "already_imported",
        "customers_created",
        "rejected",
        "possible_duplicates",
        "notes",
        "duplicates",
        "suppressed",
    )

    def state(self) -> dict[str, Any]:
        """The summary so far, as JSON values: an import records it with each committed chunk."""
        return {
            **{k: getattr(self, k) for k in self._STATE},
            "rejections": [[r.row, r.field, r.reason, r.values] for r in self.rejections],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Go on from :meth:`state` (a resumed import)."""
        for k in self._STATE:
            if k in state:
                setattr(self, k, state[k])
        self.rejections = [Rejection(*r) for r in state.get("rejections", ())]

    def finish(self) -> "ImportSummary":
        self.seconds = time.perf_counter() - self.started
        return self

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def counts(self) -> list[tuple[str, int]]:
        if self.what == "customers":
            keys = [
                "rows",
                "created",
                "merged",
                "unchanged",
                "skipped",
                "rejected",
                "possible_duplicates",
            ]
        else:
            keys = ["rows", "recorded", "already_imported", "customers_created", "rejected"]
        return [(k, getattr(self, k)) for k in keys]

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "dry_run": self.dry_run,
            **dict(self.counts()),
            "blank_rows": self.blank,
            "ignored_columns": self.ignored_columns,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "errors_file": self.errors_file,
            "rejections": [r.to_dict() for r in self.rejections],
            "notes": self.notes,
            "possible_duplicate_list": self.duplicates,
            "import_id": self.import_id,
            "resumed_after_row": self.resumed_after,
            "suppressed_messages": self.suppressed,
        }

    def add_suppressed(self, counts: dict[str, int]) -> None:
        for kind, n in counts.items():
            self.suppressed[kind] = self.suppressed.get(kind, 0) + n
