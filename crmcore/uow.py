"""The unit of work: one command or API call = one database transaction.

Hook implementations run inside it (they receive the ``uow`` and write through ``uow.session``). Any
exception rolls the whole transaction back. Every domain event is appended to the outbox in the same
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .storage.models import AuditEntry, OutboxEvent

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from .app import CRM

OUTBOX_BATCH = 500
OUTBOX_COLUMNS = ("event", "customer_id", "payload", "created_at", "published_at", "attempts")


def _everything(plugin: str) -> bool:
    return True


class UnitOfWork:
    """Holds the session of one transaction, the acting user, and the application (plugins, settings)."""

    def __init__(self, app: "CRM", session: "Session", actor: str):
        self.app = app
        self.session = session
        self.actor = actor
        #: a read-only unit's writes are discarded at its end (``CRM.unit_of_work(readonly=True)``)
        self.readonly = False
        #: the user this unit acts for, whose record rules apply (crmcore.services.access); None:
        #: unrestricted
        self.viewer = None
        self._outbox: list[
            tuple[str, int | None, dict[str, Any]]
        ] = []  # (event, customer id, payload)
        self._after_commit: list[Callable[[], None]] = []
        self._before_commit: list[Callable[[], None]] = []
        #: a place for plugins to cache per-transaction data (keyed by plugin name)
        self.cache: dict[str, Any] = {}
        #: whether the person shown what this unit reads may see a plugin's data: the web sets it
        #: from the user's per-plugin permissions; elsewhere (the CLI) everything may be shown
        self.may_read: Callable[[str], bool] = _everything
        self._emitted: set[str] = set()  # event names already checked against the declared ones
        self._listened: dict[
            str, bool
        ] = {}  # hook name → has implementations (plugins don't change mid-way)
        #: set by a bulk import around the live services it calls (merges of the slow path): hooks
        #: with a batch form then reach only the plugins without it (:mod:`crmcore.batches`), and
        #: the changes made are kept in ``imported_changes`` for the import's
        #: ``crm_customers_updated``
        self.importing = None
        self.imported_changes: list = []
        #: True while the hooks of a history batch run (``Batch.history``, issue 34): what they
        #: cause belongs to the past, so no customer message may leave for it
        self.history = False
        #: customer messages withheld for history, by kind (the import's summary reports them)
        self.suppressed: dict[str, int] = {}

    def suppress(self, kind: str, count: int = 1) -> None:
        """Count a customer message of ``kind`` not sent because it belongs to imported history."""
        self.suppressed[kind] = self.suppressed.get(kind, 0) + count

    # -- plugins ----------------------------------------------------------------------------------------
    @property
    def plugins(self):
        return self.app.plugins

    def has_plugin(self, name: str) -> bool:
        return self.app.plugins.is_enabled(name)

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook with this unit of work; a raising plugin is named in the :class:`PluginHookError`."""
        if self.importing is not None:
            from .batches import BATCH_FORMS

            if hook_name in BATCH_FORMS:
                caller = self.app.plugins.row_only_caller(hook_name, BATCH_FORMS[hook_name])
                if caller is None:
                    return []
                return self.app.plugins.call_caller(caller, hook_name, uow=self, **kwargs)
        return self.app.plugins.call(hook_name, uow=self, **kwargs)

    def emit(
        self,
        hook_name: str,
        *,
        customer_id: int | None = None,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Announce a domain event: append it to the outbox, then call the hook of the same name."""
        self._check_event(hook_name)
        self._outbox.append((hook_name, customer_id, data or {}))
        if len(self._outbox) >= OUTBOX_BATCH:
            self.flush_outbox()
        return self.call(hook_name, **kwargs) if self.listened(hook_name) else []

    def emit_many(
        self,
        hook_name: str,
        events: Sequence[tuple[int | None, dict[str, Any]]],
        **kwargs: Sequence[Any],
    ) -> None:
        """:meth:`emit` for many events of one hook, in order. ``events`` are ``(customer_id, data)``; each
        keyword argument is a sequence holding that hook argument for each event. When nobody listens, only
        the outbox rows are added (the same rows, flushed at the same points), without a call per event."""
        self._check_event(hook_name)
        if self.listened(hook_name):
            for i, (customer_id, data) in enumerate(events):
                self.emit(
                    hook_name,
                    customer_id=customer_id,
                    data=data,
                    **{k: v[i] for k, v in kwargs.items()},
                )
            return
        self.record_events(hook_name, events)

    def record_events(
        self, hook_name: str, events: Sequence[tuple[int | None, dict[str, Any]]]
    ) -> None:
        """Append events to the outbox without calling their hook (a bulk import calls the hook's
        batch form itself: :func:`crmcore.batches.announce`)."""
        done = 0
        while done < len(events):
            chunk = events[done : done + OUTBOX_BATCH - len(self._outbox)]
            self._outbox.extend(
                [(hook_name, customer_id, data or {}) for customer_id, data in chunk]
            )
            done += len(chunk)
            if len(self._outbox) >= OUTBOX_BATCH:
                self.flush_outbox()

    def _check_event(self, hook_name: str) -> None:
        if hook_name not in self._emitted:
            self.app.plugins.check_event(hook_name)
            self._emitted.add(hook_name)

    def listened(self, hook_name: str) -> bool:
        """Whether a plugin (or the kernel) implements the hook (plugins don't change within a unit of work)."""
        listened = self._listened.get(hook_name)
        if listened is None:
            caller = getattr(self.app.plugins.hook, hook_name, None)
            listened = self._listened[hook_name] = caller is not None and bool(
                caller.get_hookimpls()
            )
        return listened

    def flush_outbox(self) -> None:
        if self._outbox:
            from .storage.bulk import insert_values

            events, self._outbox = self._outbox, []
            now = (
                self.now()
            )  # one stamp per flush (at most OUTBOX_BATCH events, or the commit): order is the id
            self.session.flush()  # rows this event refers to first, then the events (driver-level insert)
            insert_values(
                self.session,
                OutboxEvent.__table__,
                OUTBOX_COLUMNS,
                [
                    (event, customer_id, payload, now, None, 0)
                    for event, customer_id, payload in events
                ],
            )

    # -- audit ------------------------------------------------------------------------------------------
    def audit_many(
        self,
        action: str,
        entity: str,
        entries: Sequence[tuple[Any, dict[str, Any] | None, int | None]],
    ) -> None:
        """:meth:`audit` for many entries of one action: ``(entity_id, changes, customer_id)`` each,
        written with one multi-row insert (a bulk import's thousands of entries)."""
        if not entries:
            return
        from .storage.bulk import insert_values

        now = self.now()
        self.session.flush()
        insert_values(
            self.session,
            AuditEntry.__table__,
            ("at", "actor", "action", "entity", "entity_id", "customer_id", "changes"),
            [
                (
                    now,
                    self.actor,
                    action,
                    entity,
                    None if eid is None else str(eid),
                    cid,
                    changes or {},
                )
                for eid, changes, cid in entries
            ],
        )

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: Any = None,
        changes: dict[str, Any] | None = None,
        customer_id: int | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=self.now(),
                actor=self.actor,
                action=action,
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                customer_id=customer_id,
                changes=changes or {},
            )
        )

    # -- time and after-commit work ----------------------------------------------------------------------
    def now(self) -> datetime:
        return self.app.now()

    def before_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once just before the commit (batched work a plugin queued during the unit of work);
        it may still write and emit events, and raising rolls everything back."""
        if fn not in self._before_commit:
            self._before_commit.append(fn)

    def _run_before_commit(self) -> None:
        while self._before_commit:
            self._before_commit.pop(0)()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` after a successful commit (e.g. hand a message to a provider); never on rollback."""
        self._after_commit.append(fn)

    def _run_after_commit(self) -> None:
        for fn in self._after_commit:
            fn()
