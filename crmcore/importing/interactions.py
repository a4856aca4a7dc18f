"""``crm interactions import``: purchase (or call, visit…) histories, announced like live recording.

Each row is validated with the kernel's ``prepare_interaction``; its customer is found by customer code,
email or phone (``--create-customers`` creates the missing ones). Every stored row emits
``crm_interaction_recorded`` with the same payload as ``crm interactions record``, in ``occurred_at`` order per
customer, so plugins (loyalty, tiers, surveys) react to history as to live purchases.

Order: rows are handled in chunks sorted by (customer, occurred_at). Files sorted by date or by customer (the
usual exports) stream in one pass. If a later chunk holds a row older than one already announced for the
same customer, that chunk's transaction is rolled back and the rest of the file (all of it, unless
chunks were already committed: :mod:`.runs`) is first copied into a temporary SQLite file sorted by
date (:class:`Spool`; memory stays flat), then imported from there in chunks like a sorted file — so
the guarantee holds for any file, other commands keep their turn between chunks, and a killed import
resumes (the run keeps where the sorted part began and how many of its rows are committed).

Re-import: a row whose (kind, external id) is already stored is counted as already imported. A row without an
external id is taken as already imported when an interaction stored before this run has the same customer,
kind, time, amount and currency (each stored interaction answers for one row); "before this run" is
kept across a resume, so a resumed import does not count its own earlier chunks as already imported.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import attrs
from sqlalchemy import func, select

from ..batches import Batch
from ..domain.dates import parse_datetime
from ..domain.emails import email_address
from ..domain.phones import looks_like_phone
from ..domain.text import check_text, to_ascii_digits
from ..errors import CRMError, ValidationError
from ..gc_tuning import fewer_collections
from ..services.customers import prepare_customer
from ..services.interactions import PreparedInteraction, interaction_kinds, prepare_interaction
from ..services.settings import get_setting
from ..storage.background import background_inserts
from ..storage.models import Customer, CustomerEmail, CustomerPhone, Interaction
from .bulk import add_customers, new_customer_refusals, record_interactions
from .customers import Progress, batched
from .fastphone import fast_parse_phone
from .headers import (
    INTERACTION_ALIASES,
    INTERACTION_CUSTOMER_FALLBACK,
    ColumnMap,
    header_key,
    map_columns,
    parse_mapping,
)
from .lookups import active_owners, customers_by_external_id, stored_external_ids
from .runs import CHUNK_ROWS, ImportRun
from .sources import open_table
from .summary import ErrorsFile, ImportSummary, Rejection

BATCH = 5000
#: kernel setting: imported rows older than this many days are history (no customer messages;
#: plugins react as of each row's date); unset: only ``--history`` makes rows history
HISTORY_DAYS_SETTING = "import.history_days"


class OutOfOrder(Exception):
    """A row is older than one already announced for its customer: redo the import sorted."""


@attrs.define(slots=True)
class Item:
    row: int
    cells: list[str]
    ref: str
    name: str | None
    prepared: PreparedInteraction
    customer_id: int | None = None


def import_interactions(
    app,
    path: str | Path,
    *,
    create_customers: bool = False,
    dry_run: bool = False,
    mapping: Iterable[str] = (),
    errors_path: str | Path | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    kind: str | None = None,
    currency: str | None = None,
    unit: str | None = None,
    channel: str | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
    on_open: Callable[[Any], None] | None = None,
    in_memory: bool = False,
    on_wait: Callable[[str], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    history: bool = False,
    history_days: int | None = None,
) -> ImportSummary:
    """Import an interaction history, a chunk of rows per transaction (:mod:`.runs`; ``on_wait`` is
    told when this import waits for another); ``kind``/``currency``/``unit``/``channel`` fill
    columns the file lacks (or cells left empty). ``history``: the rows are past events; plugins see
    it as ``batch.history`` in the batch hooks (:class:`crmcore.batches.Batch`). Without it, rows
    older than ``history_days`` days (else the kernel setting :data:`HISTORY_DAYS_SETTING`, if set)
    are history and the newer ones current events."""
    defaults = {"kind": kind, "currency": currency, "unit": unit, "channel": channel}
    table = open_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    try:
        cmap = _column_map(table.headers, list(mapping), defaults)
        summary = ImportSummary(
            "interactions",
            str(path),
            format=table.format,
            encoding=table.encoding,
            delimiter=table.delimiter,
            dry_run=dry_run,
            errors_file=str(errors_path) if errors_path else None,
        )
    finally:
        table.close()
    options = {
        "create_customers": create_customers,
        "mapping": list(mapping),
        "encoding": encoding,
        "delimiter": delimiter,
        "sheet": sheet,
        **defaults,
        **({"history": True} if history else {}),
        **({"history_days": history_days} if history_days is not None else {}),
    }
    run = ImportRun(
        app,
        "interactions",
        path,
        options,
        summary,
        dry_run=dry_run,
        on_wait=on_wait,
        chunk_rows=chunk_rows,
    )
    args = dict(
        create_customers=create_customers,
        errors_path=errors_path,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        defaults=defaults,
        batch_size=batch_size,
        progress=progress,
        on_open=on_open,
        cmap=cmap,
        history=history,
        history_days=history_days,
    )
    with run.held(), fewer_collections():
        if not in_memory and SORTED_FROM not in run.extra:
            try:
                return _attempt(app, path, run, in_memory=False, **args)
            except OutOfOrder:
                run.rewind()
        return _attempt(app, path, run, in_memory=True, **args)


def _column_map(headers: list[str], mapping: list[str], defaults: dict[str, Any]) -> ColumnMap:
    hand = parse_mapping(mapping)
    cmap = map_columns(
        headers, INTERACTION_ALIASES, hand, extra_prefixes=("payload.",), catch_all="payload."
    )
    fields = list(cmap.fields)
    if "customer" not in fields:
        fallback = {header_key(a) for a in INTERACTION_CUSTOMER_FALLBACK}
        for i, h in enumerate(headers):
            if header_key(h) in fallback and header_key(h) not in hand:
                fields[i] = "customer"
                break
        else:
            raise ValidationError(
                f"no customer column among {', '.join(h for h in headers if h)}; name it with "
                "--mapping COLUMN=customer (a customer code, phone or email)",
                field="mapping",
            )
    if "occurred_at" not in fields:
        raise ValidationError(
            "no date column (occurred_at, date, تاریخ…); name it with --mapping COLUMN=occurred_at",
            field="mapping",
        )
    if "kind" not in fields and not defaults["kind"]:
        raise ValidationError(
            "no kind column; give --kind (purchase, refund, call, visit…) or --mapping COLUMN=kind",
            field="mapping",
        )
    return ColumnMap(tuple(fields), cmap.ignored)


def _attempt(
    app,
    path,
    run: ImportRun,
    *,
    in_memory: bool,
    create_customers,
    errors_path,
    encoding,
    delimiter,
    sheet,
    defaults,
    batch_size,
    progress,
    on_open,
    cmap,
    history,
    history_days,
) -> ImportSummary:
    """Import the rows after the run's last committed one: streamed, a chunk per transaction; or (a
    row older than one already announced for its customer: :class:`OutOfOrder`) ``in_memory``:
    sorted by date first (:class:`Spool`), then a chunk per transaction as well."""
    summary = run.summary
    table = open_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    errors = spool = None
    try:
        done = 0
        if in_memory:
            run.extra.setdefault(SORTED_FROM, run.last_row)
            done = run.extra.setdefault(SORTED_DONE, 0)
            spool = Spool(cmap, app.timezone)
            spool.fill(r for r in table.rows if r[0] > run.extra[SORTED_FROM])
            rows: Iterable[tuple[int, list[str]]] = spool.rows(skip=done)
            keep = (
                run.extra[SORTED_FROM] if run.extra[SORTED_FROM] > 1 or done else None,
                spool.first_rows(done),
            )
        else:
            rows = run.remaining(table.rows)
            keep = (run.last_row if run.last_row > 1 else None, frozenset())
        errors = run.errors = ErrorsFile(
            errors_path, table.headers, source=path, keep_through=keep[0], keep_rows=keep[1]
        )
        if on_open:
            on_open(table)
        imp = InteractionImporter(
            cmap,
            table.headers,
            defaults,
            create_customers,
            summary,
            errors,
            history=history,
            history_days=history_days,
        )
        for chunk in run.chunks(batched(rows, batch_size)):
            with run.transaction(chunk) as uow, background_inserts(uow.session):
                imp.bind(uow, run)
                for batch in chunk:
                    # sorted by date (in_memory): one customer's rows come in order, but may be
                    # older than rows committed before the sorted part began
                    imp.store(imp.resolve(imp.validate(batch)), check_order=not in_memory)
                    done += len(batch)
                    if progress:
                        progress(summary.rows + summary.blank, table.position())
                if in_memory:
                    run.extra[SORTED_DONE] = done
                    chunk.last_row = run.extra[SORTED_FROM]  # a resume starts from the spool
                if chunk.is_last():
                    uow.audit(
                        "import",
                        "interactions",
                        None,
                        {"file": Path(path).name, **dict(summary.counts())},
                    )
            # counted up to the commit: plugins may accrue what a chunk recorded just before it
            summary.add_suppressed(uow.suppressed)
    finally:
        if errors:
            errors.close()
        if spool:
            spool.close()
        table.close()
    return summary.finish()


SORTED_FROM, SORTED_DONE = "sorted_from", "sorted_done"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Spool:
    """The rows of an unsorted file in a temporary SQLite file, given back sorted by date (rows
    whose date cannot be read first: they are refused), then by row number. The order depends only
    on the file, so a resumed import skips the rows its committed chunks took."""

    def __init__(self, cmap: ColumnMap, tz: str):
        self._dir = tempfile.TemporaryDirectory(prefix="crm-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "spool.db")
        self._db.execute("CREATE TABLE spool (at INTEGER, row INTEGER, cells TEXT)")
        self._at = cmap.fields.index("occurred_at")
        self._tz = tz

    def _key(self, cells: list[str]) -> int | None:
        raw = cells[self._at].strip() if len(cells) > self._at and cells[self._at] else ""
        try:
            return (parse_datetime(raw, tz=self._tz) - _EPOCH) // timedelta(microseconds=1)
        except (CRMError, ValueError, TypeError, OverflowError):
            return None

    def fill(self, rows: Iterable[tuple[int, list[str]]]) -> None:
        for part in batched(rows, BATCH):
            self._db.executemany(
                "INSERT INTO spool VALUES (?, ?, ?)",
                [(self._key(c), r, json.dumps(c)) for r, c in part],
            )
        self._db.commit()

    def _sorted(self, skip: int, limit: int = -1):
        return self._db.execute(
            "SELECT row, cells FROM spool ORDER BY at, row LIMIT ? OFFSET ?", (limit, skip)
        )

    def rows(self, *, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
        for row, cells in self._sorted(skip):
            yield row, json.loads(cells)

    def first_rows(self, n: int) -> frozenset[int]:
        """The row numbers of the first ``n`` sorted rows."""
        return frozenset(r for r, _ in self._sorted(0, n)) if n else frozenset()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


def _as_phone(ref: str) -> str | None:
    """The E.164 form of a reference that is a phone number, else ``None``. Short codes (``00001``, ``C-17``)
    are answered without asking libphonenumber (slow): fewer than 8 digits, or a country code starting with 0,
    is taken as a customer code (only a few island states have shorter phone numbers)."""
    digits = re.sub(r"\D", "", to_ascii_digits(ref))
    compact = to_ascii_digits(ref).strip()
    if len(digits) < 8 or compact.startswith(("+0", "000")) or not looks_like_phone(ref):
        return None
    try:
        return fast_parse_phone(ref).e164
    except ValidationError:
        return None


def _payload_value(text: str) -> Any:
    """Whole numbers become ints (``"3"`` → 3, not ``"007"``); everything else stays exact text."""
    if (
        text.isdigit()
        and text.isascii()
        and (text == "0" or not text.startswith("0"))
        and len(text) < 16
    ):
        return int(text)
    return text


class InteractionImporter:
    def __init__(
        self,
        cmap: ColumnMap,
        headers: list[str],
        defaults: dict[str, Any],
        create_customers: bool,
        summary: ImportSummary,
        errors: ErrorsFile,
        *,
        history: bool = False,
        history_days: int | None = None,
    ):
        self.history = history
        self.history_days = history_days
        self.fields = cmap.fields
        self.width = len(headers)
        self.defaults = defaults
        self.create = create_customers
        self.summary = summary
        self.errors = errors
        self._moments: dict[str, Any] = {}
        self.last_at: dict[int, Any] = {}
        self.seen_before: dict[int, Counter] = {}  # stored fingerprints of customers with history

    def bind(self, uow, run: ImportRun) -> None:
        """Work in this chunk's unit of work. Interactions stored before the run began
        (``start_max``, kept by the run across a resume) are the ones a row without external id may
        already be."""
        self.uow = uow
        self.kinds = interaction_kinds(uow)
        self.tz = uow.app.timezone
        self.now = uow.now()
        self.margin = uow.app.future_margin
        #: customer reference → id, resolved once per chunk (between chunks a customer may be
        #: merged)
        self.refs: dict[str, int] = {}
        if "start_max" not in run.extra:
            run.extra["start_max"] = uow.session.scalar(select(func.max(Interaction.id))) or 0
        self.start_max = run.extra["start_max"]
        self.batch = Batch("import", history=self.history, file=run.path.name)
        self.past = Batch("import", history=True, file=run.path.name)
        days = self.history_days
        if days is None and not self.history:
            days = get_setting(uow, "kernel", HISTORY_DAYS_SETTING)
        #: rows before this moment are history (an import not marked history as a whole)
        self.cutoff = None if self.history or days is None else self.now - timedelta(days=int(days))

    def reject(self, row: int, cells: list[str], field: str | None, reason: str) -> None:
        self.summary.reject(Rejection(row, field, reason, list(cells)), self.errors)

    # -- rows ------------------------------------------------------------------------------------------------
    def validate(self, batch: list[tuple[int, list[str]]]) -> list[Item]:
        items = []
        for row, cells in batch:
            if not "".join(cells).strip():  # cells are always text (sources.cell_text)
                self.summary.blank += 1
                continue
            self.summary.rows += 1
            try:
                items.append(self.read(row, cells))
            except CRMError as exc:
                self.reject(row, cells, exc.field, exc.message)
        return items

    def read(self, row: int, cells: list[str]) -> Item:
        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            raise ValidationError(
                f"the row has {len(cells)} values but the header has {self.width} columns",
                field="row",
            )
        values: dict[str, str] = {}
        payload: dict[str, Any] = {}
        for field, cell in zip(self.fields, cells):
            value = cell.strip() if cell else ""
            if field is None or not value:
                continue
            if field.startswith("payload."):
                payload[field[8:]] = _payload_value(value)
            else:
                values[field] = value
        ref = values.get("customer", "")
        if not ref:
            raise ValidationError(
                "the customer is missing (a customer code, phone or email)", field="customer"
            )
        # looked up (PostgreSQL refuses a NUL even there) and maybe stored
        check_text(ref, "customer")
        name = values.get("customer_name")
        if name:
            check_text(name, "customer_name")
        if not values.get("occurred_at"):
            raise ValidationError("the date is missing", field="occurred_at")
        kind = values.get("kind") or self.defaults["kind"]
        p = prepare_interaction(
            kind=kind,
            occurred_at=self._moment(values["occurred_at"]),
            now=self.now,
            tz=self.tz,
            channel=values.get("channel") or self.defaults["channel"],
            direction=values.get("direction"),
            amount=values.get("amount"),
            currency=values.get("currency") or self.defaults["currency"],
            external_id=values.get("external_id"),
            payload=payload,
            unit=values.get("unit") or self.defaults["unit"],
            margin=self.margin,
        )
        if p.kind not in self.kinds:
            raise ValidationError(
                f"unknown interaction kind {p.kind!r} (known: {', '.join(sorted(self.kinds))})",
                field="kind",
            )
        return Item(row, cells, ref, name, p)

    def _moment(self, raw: str):
        """The kernel's ``parse_datetime``, remembered per text (histories repeat the same days)."""
        found = self._moments.get(raw)
        if found is None:
            found = parse_datetime(raw, tz=self.tz, field="occurred_at")
            if len(self._moments) < 100_000:
                self._moments[raw] = found
        return found

    # -- customers -----------------------------------------------------------------------------------------
    def resolve(self, items: list[Item]) -> list[Item]:
        missing = {it.ref for it in items if it.ref not in self.refs}
        if missing:
            found, problems = self._lookup(missing)
            self.refs.update(found)
            unknown = missing - set(found) - set(problems)
            if unknown and self.create:
                names = {}
                for it in items:
                    if it.ref in unknown:
                        names.setdefault(it.ref, it.name)
                created, failed = self._create(sorted(unknown), names)
                self.refs.update(created)
                problems.update(failed)
            for ref in unknown - set(self.refs) - set(problems):
                problems[ref] = (
                    f"no customer has the code, phone or email {ref!r} "
                    "(give --create-customers to create missing customers)"
                )
        else:
            problems = {}
        kept = []
        for it in items:
            cid = self.refs.get(it.ref)
            if cid is None:
                self.reject(
                    it.row,
                    it.cells,
                    "customer",
                    problems.get(it.ref, f"unknown customer {it.ref!r}"),
                )
                continue
            it.customer_id = cid
            kept.append(it)
        return kept

    def _lookup(self, refs: set[str]) -> tuple[dict[str, int], dict[str, str]]:
        session = self.uow.session
        found: dict[str, int] = {}
        problems: dict[str, str] = {}
        for cid, ext, merged, forgotten in customers_by_external_id(session, refs):
            while merged is not None:
                cid, merged, forgotten = session.execute(
                    select(Customer.id, Customer.merged_into_id, Customer.forgotten_at).where(
                        Customer.id == merged
                    )
                ).one()
            if forgotten is None:
                found[ext] = cid
        rest = refs - set(found)
        emails: dict[str, str] = {}
        phones: dict[str, str] = {}
        for ref in rest:
            try:
                if "@" in ref:
                    emails[email_address(ref)] = ref
                elif (e164 := _as_phone(ref)) is not None:
                    phones[e164] = ref
            except ValidationError:
                continue
        for column, wanted in ((CustomerEmail.email, emails), (CustomerPhone.e164, phones)):
            if not wanted:
                continue
            owners: dict[str, set[int]] = {}
            for value, cid in active_owners(session, column, wanted):
                owners.setdefault(value, set()).add(cid)
            for value, ids in owners.items():
                ref = wanted[value]
                if len(ids) == 1:
                    found[ref] = next(iter(ids))
                else:
                    problems[ref] = (
                        f"{value} belongs to customers {', '.join(map(str, sorted(ids)))}; "
                        "merge them first (crm customers duplicates)"
                    )
        return found, problems

    def _create(
        self, refs: list[str], names: dict[str, str | None]
    ) -> tuple[dict[str, int], dict[str, str]]:
        prepared, keys, failed = [], [], {}
        for ref in refs:
            fields: dict[str, Any] = {"name": names.get(ref) or ref}
            if "@" in ref:
                fields["emails"] = [ref]
            elif (e164 := _as_phone(ref)) is not None:
                fields["phones"] = [e164]
            else:
                fields["external_id"] = ref
            try:
                prepared.append(prepare_customer(**fields))
                keys.append(ref)
            except CRMError as exc:
                failed[ref] = f"cannot create customer {ref!r}: {exc}"
        refused = new_customer_refusals(self.uow, prepared, self.batch)
        if refused:
            for i, ref in enumerate(keys):
                if i in refused:
                    failed[ref] = f"cannot create customer {ref!r}: {'; '.join(refused[i])}"
            keys = [r for i, r in enumerate(keys) if i not in refused]
            prepared = [p for i, p in enumerate(prepared) if i not in refused]
        ids = add_customers(self.uow, prepared, batch=self.batch)
        self.summary.customers_created += len(ids)
        return dict(zip(keys, ids)), failed

    # -- storing ---------------------------------------------------------------------------------------------
    def store(self, items: list[Item], *, check_order: bool) -> None:
        items = self._new_only(items)
        items.sort(key=lambda it: (it.customer_id, it.prepared.occurred_at, it.row))
        if check_order:
            for it in items:
                last = self.last_at.get(it.customer_id)
                if last is not None and it.prepared.occurred_at < last:
                    raise OutOfOrder()
        for it in items:
            self.last_at[it.customer_id] = it.prepared.occurred_at
        if self.cutoff is not None:
            # history first: each customer's older rows precede the newer ones, so order holds
            past = [it for it in items if it.prepared.occurred_at < self.cutoff]
            items = [it for it in items if it.prepared.occurred_at >= self.cutoff]
            self._record(past, self.past)
        self._record(items, self.batch)

    def _record(self, items: list[Item], batch: Batch) -> None:
        record_interactions(
            self.uow, [(it.customer_id, it.prepared) for it in items], self._customers, batch=batch
        )
        self.summary.recorded += len(items)

    def _customers(self, ids: set[int]) -> dict[int, Customer]:
        """The ORM customers a plugin with only ``crm_interaction_recorded`` is handed (held here:
        the identity map keeps weak references)."""
        found = self.uow.session.scalars(select(Customer).where(Customer.id.in_(ids)))
        return {c.id: c for c in found}

    def _new_only(self, items: list[Item]) -> list[Item]:
        session = self.uow.session
        session.flush()
        exts = {
            (it.prepared.kind, it.prepared.external_id) for it in items if it.prepared.external_id
        }
        stored: dict[tuple[str, str], int] = {}
        by_kind: dict[str, set[str]] = {}
        for k, ext in exts:
            by_kind.setdefault(k, set()).add(ext)
        for k, wanted in by_kind.items():
            for ext, iid in stored_external_ids(session, k, wanted).items():
                stored[(k, ext)] = iid
        need = {it.customer_id for it in items if not it.prepared.external_id} - set(
            self.seen_before
        )
        if need and self.start_max:
            self._load_fingerprints(need)
        kept, in_chunk = [], set()
        for it in items:
            p = it.prepared
            if p.external_id:
                key = (p.kind, p.external_id)
                iid = stored.get(key)
                if iid is not None and iid <= self.start_max:
                    self.summary.already_imported += 1
                    continue
                if iid is not None or key in in_chunk:
                    self.reject(
                        it.row,
                        it.cells,
                        "external_id",
                        f"another row of this file already has {p.kind} external id {p.external_id!r}",
                    )
                    continue
                in_chunk.add(key)
            else:
                seen = self.seen_before.get(it.customer_id)
                if seen:
                    fp = (
                        p.kind,
                        p.occurred_at,
                        p.money.minor if p.money else None,
                        p.money.currency if p.money else None,
                    )
                    if seen[fp] > 0:
                        seen[fp] -= 1
                        self.summary.already_imported += 1
                        continue
            kept.append(it)
        return kept

    def _load_fingerprints(self, customer_ids: set[int]) -> None:
        for cid in customer_ids:
            self.seen_before[cid] = Counter()
        rows = self.uow.session.execute(
            select(
                Interaction.customer_id,
                Interaction.kind,
                Interaction.occurred_at,
                Interaction.amount_minor,
                Interaction.currency,
                func.count(),
            )
            .where(
                Interaction.customer_id.in_(customer_ids),
                Interaction.id <= self.start_max,
                Interaction.external_id.is_(None),
            )
            .group_by(
                Interaction.customer_id,
                Interaction.kind,
                Interaction.occurred_at,
                Interaction.amount_minor,
                Interaction.currency,
            )
        )
        for cid, kind, at, minor, cur, n in rows:
            self.seen_before[cid][(kind, at, minor, cur)] = n
