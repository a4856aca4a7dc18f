"""Lifecycle hooks: what a plugin contributes to the application (called outside domain events)."""

from __future__ import annotations

from . import hookspec


@hookspec
def crm_reports():
    """Contribute reports to the registry behind ``crm reports list`` and ``crm reports run``.

    :return: a list of :class:`crmcore.reports.Report` (name, title, description and a ``run(uow, params)``
        callable returning a :class:`crmcore.reports.ReportResult`). Report names are namespaced by the
        plugin (``loyalty.summary``); a duplicate name is an error at startup.
    :when: every time the report registry is built (``crm reports …``, the web report pages).
    """


@hookspec
def crm_jobs():
    """Contribute scheduled jobs run by ``crm jobs run`` (cron-friendly: expiry, evaluations, SLA breaches).

    :return: a list of :class:`crmcore.jobs.Job` (name, description, ``run(uow, now)`` returning a short
        summary dict). Each job runs in its own unit of work; a failing job is rolled back and reported, the
        others still run. Every run is recorded in ``job_runs`` (``crm jobs runs``).
    :when: on ``crm jobs run`` (all jobs, or ``--only NAME``), with ``now`` given by ``--now`` or the clock;
        with ``--via-workers`` in a ``crm worker`` process instead, once in effect per hand-off.
    """


@hookspec
def crm_check_database(uow):
    """Check the plugin's own invariants over the whole database (restore, ``crm import all``).

    :param uow: a read-only :class:`crmcore.uow.UnitOfWork` on the restored or imported database.
    :return: a list of problems, one short line each naming the record (``customer 12: cached
        balance 50 but the ledger sums to 40``); an empty list when all is well. Any problem makes
        the command exit 1.
    :when: once per ``crm restore`` or ``crm import all``, after the rows are in and counted.
    """


@hookspec
def crm_search_fields():
    """Contribute fields to ``crm customers find --where FIELD OP VALUE`` and to segment queries.

    :return: a list of :class:`crmcore.search.SearchField`: a name (``tier``, ``points``), a value type and a
        ``condition(op, value)`` callable returning a SQLAlchemy boolean expression on ``Customer.id``
        (typically ``Customer.id.in_(select(...))``).
    :when: when a ``--where`` clause or a segment is parsed.
    """


@hookspec
def crm_customer_attributes():
    """Declare custom customer attributes that the plugin validates (e.g. ``national_id``, ``membership_no``).

    :return: a list of :class:`crmcore.services.attributes.AttributeSpec` (name, type, choices, required).
        Values given with ``--attr NAME=VALUE`` (or an import's ``attr.NAME`` column) are checked against
        these specs; unknown names are refused. Numbers may be typed with Persian digits and ``٫``; NaN,
        infinities and thousands separators are refused. Two plugins declaring one name with different specs
        are refused with a :class:`~crmcore.errors.PluginError` naming both (one would silently override the
        other); the same spec from both is one attribute.
    :when: whenever a customer is created or updated with attributes.
    """


@hookspec
def crm_interaction_kinds():
    """Register interaction kinds beyond the kernel's (purchase, refund, call, message, visit, note).

    :return: a list of kind names (``survey_answer``, ``ticket_reply``…). Recording an unknown kind is refused.
    :when: when an interaction is recorded or imported.
    """


@hookspec
def crm_interaction_details(interaction):
    """Describe an interaction the plugin recorded in a few words, for ``crm interactions list``
    and the interactions table of the customer page and ``crm customers show`` (a call: answered
    and how long, or missed).

    :param interaction: the :class:`crmcore.storage.models.Interaction`.
    :return: a :class:`crmcore.ui.Label` (or ``str``), or ``None`` for interactions the plugin
        did not record; the first answer is shown.
    :when: each time such a list is shown.
    """


@hookspec
def crm_demo_seed(uow, customers, rng):
    """Add the plugin's part of ``crm demo`` to a fresh database of a Persian sample business.

    :param uow: the :class:`crmcore.uow.UnitOfWork` of the demo; write through the plugin's services.
    :param customers: the demo's customers (ORM objects, purchase history already recorded).
    :param rng: a seeded :class:`random.Random`, so the demo is reproducible.
    :return: a list of short lines (Persian or English) for the demo's summary, e.g. ``"loyalty: 1,240 points
        issued to 40 members"``.
    :when: once, by ``crm demo``, after the kernel's sample data, in plugin dependency order.
    """


@hookspec
def crm_customer_profile(uow, customer):
    """Add a section to the customer's 360° profile (``crm customers show``, the web customer page).

    :param customer: the :class:`crmcore.storage.models.Customer`.
    :return: a :class:`crmcore.ui.Panel` (``key``, ``title`` as ``ui.Label(en, fa)``,
        ``order``, typed components in ``items``: ``ui.Stat``, ``ui.FieldList``, ``ui.Table``,
        ``ui.Progress``, ``ui.TimelineEntry``, ``ui.Badge``, ``ui.Action``, ``ui.Chart``…, and
        optionally ``data``, the JSON-ready machine form shown by ``--json``), or ``None`` when the
        plugin has nothing to show for this customer. The kernel formats every value for the reader
        (calendar, digits, zone, money unit) on the web and in the CLI. A
        :class:`crmcore.services.profile.ProfileSection` (a dict in ``data``, shown as a generic
        key/value list) still works for one release, with a ``DeprecationWarning``. A panel
        showing another plugin's data (tiers shows loyalty points) leaves it out when
        ``uow.may_read(that_plugin)`` is false: the web page's user has no permission for that
        plugin (the panel of a plugin the user may not read is not asked for at all).
    :when: each time a profile is shown; must only read.
    """


@hookspec
def crm_customer_summary(uow, customer):
    """Add facts to the header of the customer's 360° page (and ``crm customers show``): the
    figures a person wants before anything else (points balance, tier, open tickets…).

    :param customer: the :class:`crmcore.storage.models.Customer`.
    :return: a list of :class:`crmcore.ui.Stat` (a labelled figure: ``Stat(Label("Points",
        "امتیاز"), 1250, kind="number")``) and :class:`crmcore.ui.Badge` (a status word beside the
        name: the tier), or ``None``. The kernel adds its own (lifetime value, last purchase, owner,
        consent, tags) after the plugins'. A plugin the viewer may not read is not asked; one whose
        hook raises or whose values cannot be formatted is left out of the header and logged with
        its name. Keep it to one or two cheap queries: it runs on every customer page.
    :when: each time a profile is shown; must only read.
    """


@hookspec
def crm_customer_timeline(uow, customer, before, limit):
    """Add the plugin's events to the customer's unified timeline on the 360° page (interactions,
    notes, tickets, deals, points, calls… in one list, newest first).

    :param customer: the :class:`crmcore.storage.models.Customer`.
    :param before: an aware UTC ``datetime``: give only events that happened strictly before it
        (the page's "more" asks again with the oldest moment already shown), or ``None`` for the
        newest.
    :param limit: give at most this many events, the newest ones before ``before``.
    :return: a list of :class:`crmcore.ui.TimelineEntry` (``at`` an aware UTC ``datetime``,
        ``title``, ``kind`` as a ``ui.Label`` shown as a badge, ``detail``, ``tone``, ``href``,
        ``value`` with ``value_kind``: an amount or points), or ``None``. The kernel merges every
        source by ``at`` and formats each moment in the reader's calendar and zone. A plugin the
        viewer may not read is not asked; a failing one is left out (the page says which).
    :when: each time the customer page or a page of its timeline is shown; must only read.
    """


@hookspec
def crm_customer_actions(uow, customer):
    """Offer quick actions on the customer's 360° page beside the kernel's (add a note, record a
    sale): new task, new deal, open a ticket…

    :param customer: the :class:`crmcore.storage.models.Customer`.
    :return: a list of :class:`crmcore.ui.Action`, each posting (with CSRF) to one of the plugin's
        page routes (``crm_web_routes`` ``kind="page"``, ``methods=("POST",)``), with the form's
        ``fields`` and the ``access`` level it needs (shown only to users whose level for the
        plugin reaches it, and only when they may write this customer under the record rules), or
        ``None``. The route runs the same service function as the CLI and redirects back to
        ``/customers/<id>``.
    :when: each time the customer page is shown to a user who may write the customer.
    """


@hookspec
def crm_integrations(uow):
    """List the plugin's configured live integrations for ``crm integrations list|test|status``.

    :param uow: a read-only :class:`crmcore.uow.UnitOfWork` (read the plugin's own settings).
    :return: a list of :class:`crmcore.integrations.Integration`: name (namespaced by the plugin), kind, a
        one-line summary, the settings as they may be shown (secrets as ``env:NAME`` or ``***``, see
        :func:`crmcore.integrations.shown_settings`), a ``test()`` callable making a read-only call to the
        remote service (returns a short result, raises with a clear message), a ``status(uow)`` callable
        returning recent activity as a flat dict (a ``days`` key names the period it covers), and the
        secrets' values to scrub from test messages.
    :when: on every ``crm integrations`` command; ``test()`` runs after the unit of work is closed.
    """
