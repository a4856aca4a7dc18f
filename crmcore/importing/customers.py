"""``crm customers import``: rows → customers, with dedup by normalised phone, email and customer code.

Rows are read in batches. For each batch the phones, emails and codes are looked up in the database in one
query each (rows of earlier batches are already there: written in this chunk's transaction or
committed with an earlier chunk, :mod:`.runs`), so memory stays flat however long the file is. A row
that shares a key with an existing customer, or with an earlier row, is that customer:
``--on-duplicate merge`` (default) fills empty fields and adds new phones, emails and tags without
overwriting anything (differences are noted), ``update`` overwrites with the file's non-empty
values, ``skip`` leaves the customer alone. A row whose keys point at two different customers is
rejected: merging them is a decision for a person (``crm customers duplicates``). A row without
phone, email or code is new unless an identical record (same name, city, birthday and address, no
contacts) exists — names alone never merge.

Plugins get each batch through the batch hooks (``crm_validate_customers``,
``crm_customers_created``, ``crm_customers_updated``: :mod:`crmcore.batches`). On SQLite, unless a
plugin implements only a per-row form of those hooks (the slow path, marked by ``crm plugins
list``), batches overlap (:meth:`CustomerImporter.run`): a batch's lookups run on the background
writer's thread while the next batch is read and checked.
"""

from __future__ import annotations

from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import attrs
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import selectinload

from ..batches import Batch, has_row_only
from ..domain.text import normalize
from ..errors import CRMError, ValidationError
from ..gc_tuning import fewer_collections
from ..services.customers import PreparedCustomer, update_customer
from ..storage.background import BackgroundWriter, Call, background_inserts
from ..storage.bulk import IdCounter, reserve_ids
from ..storage.models import Customer, CustomerEmail, CustomerPhone, CustomerTag
from .bulk import add_customers, new_customer_refusals
from .customer_rows import CustomerRowReader, RowData
from .headers import CUSTOMER_ALIASES, map_columns, parse_mapping
from .lookups import active_owners, customers_by_external_id, json_param
from .runs import CHUNK_ROWS, DryRun, ImportRun  # noqa: F401  (DryRun: re-exported)
from .sources import open_table
from .sqlite_lookups import SqliteBatchLookups
from .stored import StoredCustomer, StoredCustomerUpdates, load_stored_customers
from .summary import ErrorsFile, ImportSummary, Rejection

ON_DUPLICATE = ("merge", "skip", "update")
FILLABLE = ("external_id", "birthday", "city", "address", "owner")
BATCH = 2000
#: the tables a batch's lookups read (the name search tokens, audit entries and outbox rows of the previous
#: batch may still be waiting to be written)
LOOKUP_TABLES = (
    Customer.__tablename__,
    CustomerPhone.__tablename__,
    CustomerEmail.__tablename__,
    CustomerTag.__tablename__,
)


Progress = Callable[[int, int], None]  # (rows so far, position in the file)


def batched(it: Iterable, n: int) -> Iterator[list]:
    it = iter(it)
    while chunk := list(islice(it, n)):
        yield chunk


def import_customers(
    app,
    path: str | Path,
    *,
    on_duplicate: str = "merge",
    dry_run: bool = False,
    mapping: Iterable[str] = (),
    errors_path: str | Path | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
    on_open: Callable[[Any], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportSummary:
    """Import customers from a CSV or XLSX file, a chunk of rows per transaction (:mod:`.runs`: one
    import at a time, ``on_wait`` told when this one waits for another; an interrupted run of the
    same file is resumed); returns the summary (rejected rows are in ``summary.rejections`` and, if
    ``errors_path`` is given, in that CSV file)."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError(
            f"{on_duplicate!r} is not one of {', '.join(ON_DUPLICATE)}", field="on_duplicate"
        )
    table = open_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    errors = None
    try:
        cmap = map_columns(
            table.headers, CUSTOMER_ALIASES, parse_mapping(mapping), extra_prefixes=("attr.",)
        )
        if not cmap.used() & {"name", "first_name", "last_name"}:
            raise ValidationError(
                f"no name column among {', '.join(h for h in table.headers if h)}; name one with --mapping "
                "COLUMN=name (or first_name / last_name)",
                field="mapping",
            )
        summary = ImportSummary(
            "customers",
            str(path),
            format=table.format,
            encoding=table.encoding,
            delimiter=table.delimiter,
            dry_run=dry_run,
            ignored_columns=list(cmap.ignored),
            errors_file=str(errors_path) if errors_path else None,
        )
        options = {
            "on_duplicate": on_duplicate,
            "mapping": list(mapping),
            "encoding": encoding,
            "delimiter": delimiter,
            "sheet": sheet,
        }
        run = ImportRun(
            app,
            "customers",
            path,
            options,
            summary,
            dry_run=dry_run,
            on_wait=on_wait,
            chunk_rows=chunk_rows,
        )
        with run.held(), fewer_collections():
            errors = run.errors = ErrorsFile(
                errors_path,
                table.headers,
                source=path,
                keep_through=run.last_row if run.resumed else None,
            )
            if on_open:
                on_open(table)
            after_batch = (
                (lambda: progress(summary.rows + summary.blank, table.position()))
                if progress
                else None
            )
            for chunk in run.chunks(batched(run.remaining(table.rows), batch_size)):
                with run.transaction(chunk) as uow, background_inserts(uow.session) as writer:
                    if "first_new" not in run.extra:  # this run's first new customer (name twins)
                        run.extra["first_new"] = (
                            uow.session.scalar(
                                select(Customer.id).order_by(Customer.id.desc()).limit(1)
                            )
                            or 0
                        ) + 1
                    reader = CustomerRowReader(uow, cmap, table.headers)
                    importer = CustomerImporter(
                        uow,
                        reader,
                        on_duplicate,
                        summary,
                        errors,
                        Batch("import", file=Path(path).name),
                    )
                    importer.run(chunk, after_batch, writer)
                    if chunk.is_last():
                        importer.report_name_duplicates(run.extra["first_new"])
                        uow.audit(
                            "import",
                            "customers",
                            None,
                            {"file": Path(path).name, **dict(summary.counts())},
                        )
    finally:
        if errors:
            errors.close()
        table.close()
    return summary.finish()


@attrs.define
class Pending:
    """A new customer gathered from one or more rows of the current batch."""

    prepared: PreparedCustomer
    rows: list[tuple[int, list[str], str]]  # (row number, cells, created | merged | unchanged)


@attrs.define
class Target:
    kind: str  # "db" | "new"
    ref: int  # customer id | index in the batch's pending list
    why: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.ref)


class CustomerImporter:
    def __init__(
        self,
        uow,
        reader: CustomerRowReader,
        on_duplicate: str,
        summary: ImportSummary,
        errors: ErrorsFile,
        batch: Batch = Batch(),
    ):
        self.uow = uow
        self.reader = reader
        self.on_duplicate = on_duplicate
        self.summary = summary
        self.errors = errors
        self.batch = batch
        #: a plugin with only the per-row crm_validate_customer / crm_customer_updated wants the ORM
        #: customer: merges then go through update_customer (savepoints), the slow path
        self.row_validating = has_row_only(uow, "crm_validate_customer")
        self.validating = self.row_validating or uow.listened("crm_validate_customers")
        batched_merges = not (self.row_validating or has_row_only(uow, "crm_customer_updated"))
        #: batches overlap (:meth:`run`) on SQLite unless a plugin wants ORM customers; the ids of
        #: new customers, phones and emails are then counted here (nothing else inserts into those
        #: tables meanwhile)
        self.overlapping = (
            batched_merges
            and not has_row_only(uow, "crm_customer_created")
            and uow.session.get_bind().dialect.name == "sqlite"
        )
        self.reserve = IdCounter() if self.overlapping else reserve_ids
        self.stored = (
            StoredCustomerUpdates(
                uow, batch=batch, reserve=self.reserve if self.overlapping else None
            )
            if batched_merges
            else None
        )

    def reject(self, row: int, cells: list[str], field: str | None, reason: str) -> None:
        self.summary.reject(Rejection(row, field, reason, list(cells)), self.errors)

    # -- batches ---------------------------------------------------------------------------------------------
    def run(
        self,
        batches: Iterable[list[tuple[int, list[str]]]],
        after_batch: Callable[[], None] | None,
        writer: BackgroundWriter | None,
    ) -> None:
        """Import every batch, one after the other (:meth:`process`), or overlapping (:attr:`overlapping`,
        with a background writer): a batch's lookups are queued on the writer thread after the previous
        batch's inserts into the tables they read (:data:`LOOKUP_TABLES`, ahead of its name tokens, audit
        entries and outbox rows), and run there (:mod:`.sqlite_lookups`) while this thread reads and checks
        the next batch, which touches no database. Both ways store the same rows in the same order (a test
        compares them)."""
        if writer is None or not self.overlapping:
            for batch in batches:
                self.process(batch)
                if after_batch:
                    after_batch()
            return
        connection = self.uow.session.connection()
        lookups = SqliteBatchLookups(connection.dialect)
        waiting: tuple[ReadBatch, Call | None] | None = None  # a batch read, its lookups queued
        for batch in batches:
            read = self.read(batch)
            if waiting is not None:
                self.finish(waiting[0], self._collected(waiting[1], lookups))
            self.uow.session.flush()  # the ORM holds nothing to write: the connection is the writer's now
            prepared = [d.prepared for _r, _c, d in read.items]
            waiting = (
                read,
                self._queue_lookup(writer, lookups, prepared, connection) if prepared else None,
            )
            if after_batch:
                after_batch()
        if waiting is not None:
            self.finish(waiting[0], self._collected(waiting[1], lookups))

    def _queue_lookup(
        self,
        writer: BackgroundWriter,
        lookups: SqliteBatchLookups,
        prepared: list[PreparedCustomer],
        connection,
    ) -> Call:
        """Queue :meth:`_lookup`'s queries for these rows on the writer thread: as :mod:`.sqlite_lookups`'
        raw queries, or (a row without phone, email or code, a value with a NUL character: rare)
        :meth:`_lookup` itself."""
        fallback = partial(self._lookup, prepared, connection)
        params = [json_param(sorted(values)) for values in batch_keys(prepared)]
        if None in params or any(not (p.external_id or p.phones or p.emails) for p in prepared):
            return writer.submit_call(
                fallback, reads=LOOKUP_TABLES
            )  # a NUL character; a row without contacts
        dbapi_connection = connection.connection.dbapi_connection
        return writer.submit_call(
            partial(lookups.fetch, dbapi_connection, *params, fallback), reads=LOOKUP_TABLES
        )

    def _collected(self, call: Call | None, lookups: SqliteBatchLookups) -> "Lookup | None":
        if call is None:
            return None
        found = call.result()
        if isinstance(found, Lookup):  # the fallback ran
            return found
        ids, customers = lookups.assemble(found)
        return Lookup(ids, {}, customers)

    def process(self, batch: list[tuple[int, list[str]]]) -> None:
        """One batch: read and check its rows, look their keys up, place and store them."""
        read = self.read(batch)
        self.finish(
            read,
            self._lookup([d.prepared for _r, _c, d in read.items], self.uow.session)
            if read.items
            else None,
        )

    def read(self, batch: list[tuple[int, list[str]]]) -> "ReadBatch":
        """The batch's rows checked by the reader; the rows it rejects are reported by :meth:`finish`, in
        the order of the rows."""
        read = ReadBatch([], [])
        for row, cells in batch:
            if self.reader.is_blank(cells):
                self.summary.blank += 1
                continue
            self.summary.rows += 1
            try:
                read.items.append((row, cells, self.reader.read(cells)))
            except CRMError as exc:
                read.rejected.append((row, cells, exc.field, exc.message))
        return read

    def finish(self, read: "ReadBatch", lookup: "Lookup | None") -> None:
        """Report the rows the reader rejected, then place each checked row (a new customer, or merged into
        one found by ``lookup`` or into an earlier row) and store the batch."""
        for rejected in read.rejected:
            self.reject(*rejected)
        if lookup is None:
            return
        pending: list[Pending] = []
        keys: dict[str, int] = {}  # key → index in pending
        for row, cells, data in read.items:
            self._place(row, cells, data, lookup, pending, keys)
        if self.stored is not None:
            self.stored.write()
        self._store(pending)
        changed, self.uow.imported_changes = self.uow.imported_changes, []
        if changed and self.uow.listened("crm_customers_updated"):  # merges of the slow path
            self.uow.session.flush()
            self.uow.call("crm_customers_updated", customers=changed, batch=self.batch)

    def _place(
        self,
        row,
        cells,
        data: RowData,
        lookup: "Lookup",
        pending: list[Pending],
        keys: dict[str, int],
    ) -> None:
        p = data.prepared
        targets: dict[tuple[str, int], Target] = {}

        def add(kind: str, ref: int, why: str) -> None:
            targets.setdefault((kind, ref), Target(kind, ref, why))

        own_keys = row_keys(p)
        for key in own_keys:
            for cid in lookup.ids.get(key, ()):
                add("db", cid, key_reason(key))
            if key in keys:
                add("new", keys[key], key_reason(key))
        if not own_keys:
            ident = identity_key(p)
            if ident in lookup.identical:
                add("db", lookup.identical[ident], "the same name, city, birthday and address")
            if ident in keys:
                add("new", keys[ident], "the same name, city, birthday and address")
        if len(targets) > 1:
            described = "; ".join(self._describe(t, pending) for t in targets.values())
            self.reject(
                row,
                cells,
                "row",
                f"it matches different customers ({described}); merge them first "
                "(crm customers duplicates) or correct the row",
            )
            return
        if not targets:
            index = len(pending)
            pending.append(Pending(p, [(row, cells, "created")]))
            for key in own_keys:
                keys[key] = index
            if not own_keys:
                keys[identity_key(p)] = index
            return
        target = next(iter(targets.values()))
        if self.on_duplicate == "skip":
            self.summary.skipped += 1
            return
        if target.kind == "new":
            self._merge_into_pending(row, cells, data, pending[target.ref], target, keys)
        else:
            self._merge_into_customer(
                row, cells, data, own_keys, lookup.customers[target.ref], lookup.ids
            )

    def _describe(self, t: Target, pending: list[Pending]) -> str:
        if t.kind == "db":
            return f"customer {t.ref} by {t.why}"
        return f"row {pending[t.ref].rows[0][0]} by {t.why}"

    # -- merging -------------------------------------------------------------------------------------------
    def _merge_into_pending(
        self, row, cells, data: RowData, into: Pending, target: Target, keys
    ) -> None:
        current = into.prepared
        state = customer_state(current)
        change = merge_changes(state, data, self.on_duplicate)
        if isinstance(change, str):
            self.reject(row, cells, "external_id", change.format(who=f"row {into.rows[0][0]}"))
            return
        fields, notes = change
        for n in notes:
            self.summary.note(f"row {row}: {n} (kept the value of row {into.rows[0][0]})")
        if not fields:
            self.summary.unchanged += 1
            into.rows.append((row, cells, "unchanged"))
            return
        into.prepared = apply_to_prepared(current, fields)
        into.rows.append((row, cells, "merged"))
        for key in row_keys(into.prepared):
            keys[key] = target.ref
        self.summary.merged += 1

    def _merge_into_customer(
        self,
        row,
        cells,
        data: RowData,
        own_keys: list[str],
        customer: Customer | StoredCustomer,
        lookup_ids: dict,
    ) -> None:
        change = merge_changes(customer_state(customer), data, self.on_duplicate)
        if isinstance(change, str):
            self.reject(row, cells, "external_id", change.format(who=f"customer {customer.id}"))
            return
        fields, notes = change
        for n in notes:
            self.summary.note(f"row {row}: {n} (kept the value of customer {customer.id})")
        if not fields:
            self.summary.unchanged += 1
            return
        arguments = {
            "name": fields.get("name"),
            "add_phones": fields.get("phones", ()),
            "add_emails": fields.get("emails", ()),
            "add_tags": fields.get("tags", ()),
            "attributes": fields.get("attributes") or None,
            **{
                k: fields[k]
                for k in (*FILLABLE, "kind", "consent_sms", "consent_email")
                if k in fields
            },
        }
        if self.stored is not None:  # conflicts were ruled out above; a batch validator may refuse
            try:
                self.stored.update(customer, **arguments)
            except CRMError as exc:
                self.reject(
                    row,
                    cells,
                    exc.field,
                    f"merging into customer {customer.id} was refused: {exc.message}",
                )
                return
            self._merged(customer.id, own_keys, lookup_ids)
            return
        session = self.uow.session
        # only a plugin's crm_validate_customer can refuse a change computed here: then a savepoint keeps a
        # refused merge from leaving half-applied changes behind
        savepoint = session.begin_nested() if self.validating else None
        self.uow.importing = self.batch  # plugins with the batch forms hear of it with the batch
        try:
            update_customer(
                self.uow,
                customer.id,
                flush=savepoint is not None,  # else one flush per batch
                **arguments,
            )
            if savepoint is not None:
                savepoint.commit()
        except CRMError as exc:
            if savepoint is None:
                raise
            savepoint.rollback()
            self.reject(
                row,
                cells,
                exc.field,
                f"merging into customer {customer.id} was refused: {exc.message}",
            )
            return
        finally:
            self.uow.importing = None
        self._merged(customer.id, own_keys, lookup_ids)

    def _merged(self, customer_id: int, own_keys: list[str], lookup_ids: dict) -> None:
        for key in own_keys:  # later rows of this batch find the customer by these too
            lookup_ids.setdefault(key, set()).add(customer_id)
        self.summary.merged += 1

    # -- storing new customers -------------------------------------------------------------------------------
    def _store(self, pending: list[Pending]) -> None:
        if not pending:
            return
        refused = (
            new_customer_refusals(self.uow, [p.prepared for p in pending], self.batch)
            if self.validating
            else {}
        )
        accepted = []
        for i, p in enumerate(pending):
            errors = refused.get(i)
            if not errors:
                accepted.append(p.prepared)
                continue
            for (
                row,
                cells,
                outcome,
            ) in p.rows:  # a plugin refused the customer: every row of it is rejected
                self.reject(row, cells, None, "; ".join(errors))
                if outcome != "created":
                    setattr(self.summary, outcome, getattr(self.summary, outcome) - 1)
        add_customers(self.uow, accepted, reserve=self.reserve, batch=self.batch)
        self.summary.created += len(accepted)

    # -- lookups ---------------------------------------------------------------------------------------------
    def _lookup(self, prepared: list[PreparedCustomer], session) -> "Lookup":
        """The stored customers the batch's codes, phones and emails (or, for rows without any, identical
        records) lead to. ``session``: the unit of work's session, or its connection on the writer thread
        (merges written in batches: no ORM customer is loaded)."""
        if session is self.uow.session:
            session.flush()
        exts, phones, emails = batch_keys(prepared)
        ids: dict[str, set[int]] = {}
        active = and_(Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))
        if exts:
            tomb: dict[str, int] = {}
            for cid, ext, merged, _forgotten in customers_by_external_id(session, exts):
                if merged is None:
                    ids.setdefault("x:" + ext, set()).add(cid)
                else:
                    tomb[ext] = merged
            for (
                ext,
                cid,
            ) in tomb.items():  # a code kept on a merged-away record leads to the survivor
                ids.setdefault("x:" + ext, set()).add(self._survivor(cid, session))
        for e164, cid in active_owners(session, CustomerPhone.e164, phones):
            ids.setdefault("p:" + e164, set()).add(cid)
        for email, cid in active_owners(session, CustomerEmail.email, emails):
            ids.setdefault("e:" + email, set()).add(cid)
        identical: dict[str, int] = {}
        keyless = {
            normalize(p.name)[:300] for p in prepared if not (p.external_id or p.phones or p.emails)
        }
        if keyless:
            stmt = (
                select(
                    Customer.id,
                    Customer.display_name,
                    Customer.city,
                    Customer.birthday,
                    Customer.address,
                )
                .where(
                    Customer.search_key.in_(keyless),
                    active,
                    Customer.external_id.is_(None),
                    ~exists().where(CustomerPhone.customer_id == Customer.id),
                    ~exists().where(CustomerEmail.customer_id == Customer.id),
                )
                .order_by(Customer.id)
            )
            for cid, *identity in session.execute(stmt):
                identical.setdefault(_identity_key(*identity), cid)
        wanted = {cid for s in ids.values() for cid in s} | set(identical.values())
        customers: dict[int, Customer] | dict[int, StoredCustomer] = {}
        if wanted and self.stored is not None:
            customers = load_stored_customers(session, wanted)
        elif wanted:
            stmt = (
                select(Customer)
                .where(Customer.id.in_(wanted))
                .options(
                    selectinload(Customer.phones),
                    selectinload(Customer.emails),
                    selectinload(Customer.tags),
                )
            )
            customers = {c.id: c for c in session.scalars(stmt)}
        return Lookup(ids, identical, customers)

    def _survivor(self, cid: int, session) -> int:
        seen = set()
        while cid not in seen:
            seen.add(cid)
            nxt = session.scalar(select(Customer.merged_into_id).where(Customer.id == cid))
            if nxt is None:
                return cid
            cid = nxt
        return cid  # pragma: no cover - a cycle cannot be stored by the kernel

    # -- name-only duplicates ----------------------------------------------------------------------------------
    def report_name_duplicates(self, first_new_id: int) -> None:
        """Customers created by this import whose normalised name and city or birthday equal another's:
        reported, never merged."""
        from .duplicates import iter_name_groups

        self.uow.session.flush()
        for group in iter_name_groups(self.uow.session, min_id=first_new_id):
            self.summary.possible_duplicate(group)


@attrs.define
class ReadBatch:
    """A batch's rows as read: the checked ones, and those the reader rejected (row, cells, field, reason)."""

    items: list[tuple[int, list[str], RowData]]
    rejected: list[tuple[int, list[str], str | None, str]]


@attrs.define
class Lookup:
    ids: dict[str, set[int]]
    identical: dict[str, int]
    customers: dict[int, Customer] | dict[int, StoredCustomer]


def batch_keys(prepared: list[PreparedCustomer]) -> tuple[set[str], set[str], set[str]]:
    """The customer codes, phones (E.164) and emails of a batch's rows, to look up."""
    return (
        {p.external_id for p in prepared if p.external_id},
        {ph.e164 for p in prepared for ph in p.phones},
        {e for p in prepared for e in p.emails},
    )


def row_keys(p: PreparedCustomer) -> list[str]:
    """The keys that identify a person: customer code (``x:``), normalised phones (``p:``) and emails (``e:``)."""
    keys = ["x:" + p.external_id] if p.external_id else []
    for ph in p.phones:
        keys.append("p:" + ph.e164)
    for e in p.emails:
        keys.append("e:" + e)
    return keys


#: what a key's prefix says, for messages
_KEY_KINDS = {"x": "customer code", "p": "phone", "e": "email"}


def key_reason(key: str) -> str:
    """``p:+98912…`` → ``phone +98912…`` (why two rows are one customer)."""
    return f"{_KEY_KINDS[key[0]]} {key[2:]}"


def identity_key(p: PreparedCustomer) -> str:
    """Same normalised name, city, birthday and address (for rows without any phone, email or code)."""
    return _identity_key(p.name, p.city, p.birthday, p.address)


def _identity_key(name: str, city: str | None, birthday, address: str | None) -> str:
    return "n:" + "\x1f".join(
        [
            normalize(name),
            normalize(city),
            birthday.isoformat() if birthday else "",
            normalize(address),
        ]
    )


# --- field-level merge rules ------------------------------------------------------------------------------
def customer_state(c: Customer | StoredCustomer | PreparedCustomer) -> dict[str, Any]:
    if isinstance(c, (Customer, StoredCustomer)):
        if isinstance(c, StoredCustomer):
            phones, emails, tags = list(c.phones), list(c.emails), list(c.tags)
        else:
            phones, emails, tags = (
                [p.e164 for p in c.phones],
                [e.email for e in c.emails],
                [t.tag for t in c.tags],
            )
        return {
            "name": c.display_name,
            "kind": c.kind,
            "external_id": c.external_id,
            "birthday": c.birthday,
            "city": c.city,
            "address": c.address,
            "owner": c.owner,
            "consent_sms": bool(c.consent_sms),
            "consent_email": bool(c.consent_email),
            "attributes": dict(c.attributes or {}),
            "phones": phones,
            "emails": emails,
            "tags": tags,
        }
    return {
        "name": c.name,
        "kind": c.kind,
        "external_id": c.external_id,
        "birthday": c.birthday,
        "city": c.city,
        "address": c.address,
        "owner": c.owner,
        "consent_sms": c.consent_sms,
        "consent_email": c.consent_email,
        "attributes": dict(c.attributes),
        "phones": [p.e164 for p in c.phones],
        "emails": list(c.emails),
        "tags": list(c.tags),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return normalize(a) == normalize(b)
    return a == b


def merge_changes(
    state: dict[str, Any], data: RowData, mode: str
) -> tuple[dict[str, Any], list[str]] | str:
    """What the row adds to a customer: ``(fields, notes)``, or a refusal message (customer codes differ)."""
    p = data.prepared
    if p.external_id and state["external_id"] and p.external_id != state["external_id"]:
        return (
            f"the row's customer code {p.external_id!r} differs from {state['external_id']!r} of {{who}}, "
            "which has the same phone or email"
        )
    fields: dict[str, Any] = {}
    notes: list[str] = []
    new = {
        "external_id": p.external_id,
        "birthday": p.birthday,
        "city": p.city,
        "address": p.address,
        "owner": p.owner,
    }
    for field, value in new.items():
        if value in (None, ""):
            continue
        old = state[field]
        if old in (None, ""):
            fields[field] = value
        elif not _same(old, value):
            if mode == "update" and field != "external_id":
                fields[field] = value
            else:
                notes.append(f"{field} {value!s} differs from {old!s}")
    if not _same(p.name, state["name"]):
        if mode == "update":
            fields["name"] = p.name
        else:
            notes.append(f"name {p.name} differs from {state['name']}")
    if "kind" in data.given and p.kind != state["kind"] and mode == "update":
        fields["kind"] = p.kind
    for field in ("consent_sms", "consent_email"):
        if field in data.given and getattr(p, field) != state[field]:
            if getattr(p, field) or mode == "update":  # merge records a yes, never takes one back
                fields[field] = getattr(p, field)
    attributes = {}
    for k, v in p.attributes.items():
        if k not in state["attributes"] or (mode == "update" and state["attributes"][k] != v):
            attributes[k] = v
        elif state["attributes"][k] != v:
            notes.append(f"attribute {k} {v} differs from {state['attributes'][k]}")
    if attributes:
        fields["attributes"] = attributes
    phones = [ph for ph in p.phones if ph.e164 not in state["phones"]]
    if phones:
        fields["phones"] = phones
    emails = [e for e in p.emails if e not in state["emails"]]
    if emails:
        fields["emails"] = emails
    tags = [t for t in p.tags if t not in state["tags"]]
    if tags:
        fields["tags"] = tags
    return fields, notes


def apply_to_prepared(p: PreparedCustomer, fields: dict[str, Any]) -> PreparedCustomer:
    changes: dict[str, Any] = {
        k: fields[k] for k in (*FILLABLE, "kind", "consent_sms", "consent_email") if k in fields
    }
    if "name" in fields:
        changes["name"] = fields["name"]
    if "attributes" in fields:
        changes["attributes"] = {**p.attributes, **fields["attributes"]}
    if "phones" in fields:
        changes["phones"] = p.phones + tuple(fields["phones"])
    if "emails" in fields:
        changes["emails"] = p.emails + tuple(fields["emails"])
    if "tags" in fields:
        changes["tags"] = p.tags + tuple(fields["tags"])
    return attrs.evolve(p, **changes)
