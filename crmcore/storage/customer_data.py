"""What a plugin's model holds about customers, declared once so the kernel can merge and forget it.

A plugin model that refers to ``customers.id`` (directly, or through a parent row that does) says
how with a class attribute::

    class Message(Base):
        __customer_data__ = CustomerData(
            erase={"recipient": None, "subject": None, "body": ""},
            keep=("channel", "status", "provider"),
        )

``crm customers merge`` then re-points its customer columns (``merge="repoint"``), or drops the
absorbed customer's row where the kept customer already has one (``merge="delete_duplicate"``:
the row would break a unique constraint or relate the customer with themselves), or leaves the
rows to the plugin's ``crm_customers_merged`` hook (``merge="hook"``: balances to combine) or to
the tombstone (``merge="keep"``: hash-chained ledgers). ``crm customers forget`` writes the
``erase`` values into the rows of the customer and of every customer merged into them. Every
text and JSON column of such a model is either erased or listed in ``keep`` (not personal: codes,
statuses, staff names), and :func:`undeclared` reports what is neither; the hooks remain for what
no declaration can say (cancelling queued messages, removing the text answers from a JSON
document).

An ``erase`` value is a constant or a function of the model class returning an SQL expression
(``numbered("lead ")``, ``lambda m: case(...)``), evaluated in one ``UPDATE`` per model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs
from sqlalchemy import (
    JSON,
    String,
    Text,
    cast,
    delete,
    false,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapper

from .base import Base

MergePolicy = Literal["repoint", "delete_duplicate", "hook", "keep"]
CUSTOMERS = "customers.id"


@attrs.frozen
class CustomerData:
    """How the kernel merges and forgets one model's rows (see the module's docstring)."""

    #: column -> value written when the customer is forgotten (a constant or ``f(model) -> SQL``)
    erase: Mapping[str, Any] = attrs.field(factory=dict)
    #: text/JSON columns that hold nothing personal (the declaration is complete when every text
    #: column is in ``erase`` or ``keep``)
    keep: tuple[str, ...] = ()
    merge: MergePolicy = "repoint"
    #: the customer columns whose customer the erased data is about (default: every one)
    erase_for: tuple[str, ...] | None = None
    #: for a model reached through a parent: the foreign-key column to that parent
    via: str | None = None
    #: an extra condition on the erased rows: ``f(model) -> SQL`` (e.g. messages the customer wrote)
    where: Callable[[type], Any] | None = None


def numbered(prefix: str) -> Callable[[type], Any]:
    """An ``erase`` value naming the row by its id: ``numbered("lead ")`` writes ``lead 42``."""
    return lambda model: literal(prefix) + cast(model.id, String)


def customer_columns(model: type) -> list:
    """The model's columns with a foreign key to ``customers.id``."""
    return [
        c
        for c in model.__table__.columns
        if any(fk.target_fullname == CUSTOMERS for fk in c.foreign_keys)
    ]


def declared_models(packages: Iterable[str]) -> list[tuple[type, CustomerData]]:
    """The models of these top-level packages (the enabled plugins) that declare customer data."""
    packages = set(packages)
    found = []
    for mapper in _mappers(packages):
        decl = mapper.class_.__dict__.get("__customer_data__")
        if decl is not None:
            found.append((mapper.class_, decl))
    return sorted(found, key=lambda item: item[0].__table__.name)


def _mappers(packages: set[str]) -> list[Mapper]:
    return [
        m
        for m in Base.registry.mappers
        if m.class_.__module__.split(".")[0] in packages and m.local_table is not None
    ]


def _parent_of(model: type, decl: CustomerData) -> type:
    (fk,) = model.__table__.columns[decl.via].foreign_keys
    for mapper in Base.registry.mappers:
        if mapper.local_table is fk.column.table:
            return mapper.class_
    raise LookupError(f"{model.__name__}.{decl.via}: no model for {fk.target_fullname}")


def _rows_of(model: type, decl: CustomerData, ids: list[int], *, erasing: bool):
    """A condition selecting ``model``'s rows that belong to the customers ``ids``."""
    if decl.via is not None:
        parent = _parent_of(model, decl)
        parent_decl = parent.__dict__["__customer_data__"]
        key = next(iter(parent.__table__.primary_key.columns))
        inner = _rows_of(parent, parent_decl, ids, erasing=erasing)
        return model.__table__.columns[decl.via].in_(select(key).where(inner))
    columns = customer_columns(model)
    if erasing and decl.erase_for is not None:
        columns = [c for c in columns if c.name in decl.erase_for]
    return or_(*[c.in_(ids) for c in columns]) if columns else false()


def erase_declared(session, packages: Iterable[str], customer_ids: Iterable[int]) -> None:
    """Write every declared ``erase`` value into the rows of these customers."""
    ids = list(customer_ids)
    if not ids:
        return
    session.flush()
    for model, decl in declared_models(packages):
        if not decl.erase:
            continue
        values = {
            name: value(model) if callable(value) else value for name, value in decl.erase.items()
        }
        where = _rows_of(model, decl, ids, erasing=True)
        if decl.where is not None:
            where = where & decl.where(model)
        session.execute(
            update(model).where(where).values(values).execution_options(synchronize_session=False)
        )
    _expire(session, [model for model, _decl in declared_models(packages)])


def repoint_declared(session, packages: Iterable[str], kept_id: int, merged_id: int) -> None:
    """Move the rows of ``merged_id`` to ``kept_id`` as each model declares."""
    session.flush()
    for model, decl in declared_models(packages):
        if decl.via is not None or decl.merge in ("hook", "keep"):
            continue
        for column in customer_columns(model):
            if decl.merge == "delete_duplicate":
                _drop_duplicates(session, model, column, kept_id, merged_id)
            session.execute(
                update(model)
                .where(column == merged_id)
                .values({column.key: kept_id})
                .execution_options(synchronize_session=False)
            )
    _expire(session, [model for model, _decl in declared_models(packages)])


def _expire(session, models: list[type]) -> None:
    """Reload the plugin rows the session holds: they would show what the UPDATEs replaced."""
    models_ = tuple(models)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models_):
            session.expire(obj)


def _drop_duplicates(session, model: type, column, kept_id: int, merged_id: int) -> None:
    """Delete the rows of ``merged_id`` that, re-pointed, would repeat a unique key the kept
    customer already holds or relate the kept customer with themselves."""
    table = model.__table__
    # a second customer column already naming one of the two: the row would relate kept with kept
    clashes = [o.in_((kept_id, merged_id)) for o in customer_columns(model) if o is not column]
    for unique in _unique_keys(table):
        if column.name not in unique:
            continue
        rest = [table.columns[n] for n in unique if n != column.name]
        if rest:
            clashes.append(tuple_(*rest).in_(select(*rest).where(column == kept_id)))
        else:
            clashes.append(select(column).where(column == kept_id).exists())
    if clashes:
        session.execute(
            delete(table)
            .where(column == merged_id, or_(*clashes))
            .execution_options(synchronize_session=False)
        )


def _unique_keys(table) -> list[tuple[str, ...]]:
    keys = [
        tuple(c.name for c in con.columns)
        for con in table.constraints
        if con.__class__.__name__ == "UniqueConstraint"
    ]
    keys += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
    keys += [(c.name,) for c in table.columns if c.unique]
    if len(table.primary_key.columns) > 0:
        keys.append(tuple(c.name for c in table.primary_key.columns))
    return keys


def _texty(column) -> bool:
    return isinstance(column.type, (String, Text, JSON)) or "JSON" in type(column.type).__name__


def _reaches_customers(table, tables_reaching: set[str]) -> bool:
    return any(
        fk.target_fullname == CUSTOMERS or fk.column.table.name in tables_reaching
        for c in table.columns
        for fk in c.foreign_keys
        if fk.column.table is not table
    )


def undeclared(packages: Iterable[str]) -> list[str]:
    """What the declarations miss, one line each: a model reaching ``customers.id`` (directly or
    through its foreign keys) without ``__customer_data__``, a text or JSON column of such a model
    neither erased nor kept, a name in a declaration that is no column."""
    packages = set(packages)
    mappers = _mappers(packages)
    reaching = {"customers", "interactions"}
    changed = True
    while changed:  # the tables that reach a customer through any chain of foreign keys
        changed = False
        for m in mappers:
            if m.local_table.name not in reaching and _reaches_customers(m.local_table, reaching):
                reaching.add(m.local_table.name)
                changed = True
    problems = []
    for m in mappers:
        model, table = m.class_, m.local_table
        if table.name not in reaching:
            continue
        decl = model.__dict__.get("__customer_data__")
        where = f"{model.__module__.split('.')[0]}: {model.__name__} ({table.name})"
        if decl is None:
            problems.append(f"{where} refers to customers but declares no __customer_data__")
            continue
        names = set(table.columns.keys())
        for name in [*decl.erase, *decl.keep, *(decl.erase_for or ()), *filter(None, [decl.via])]:
            if name not in names:
                problems.append(f"{where}: {name!r} in __customer_data__ is not a column")
        if decl.via is None and not customer_columns(model):
            problems.append(f"{where} reaches customers only through a parent: declare via=")
        for c in table.columns:
            if (
                _texty(c)
                and not c.foreign_keys
                and c.name not in decl.erase
                and c.name not in decl.keep
            ):
                problems.append(f"{where}: column {c.name!r} is neither erased nor kept")
    return problems
