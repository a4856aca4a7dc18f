"""Web hooks: what a plugin adds to ``crm web`` (routes, pages, profile panels, boards, menu entries) and the
event of the public lead form. The value types live in :mod:`crmcore.web.contrib`; see ``docs/web.md``."""

from __future__ import annotations

from . import hookspec


@hookspec
def crm_web_routes():
    """Add JSON API routes, HTML pages or whole ASGI applications (e.g. signed webhooks) to ``crm web``.

    :return: a list of :class:`crmcore.web.contrib.WebRoute` and :class:`crmcore.web.contrib.WebMount`.
        A ``WebRoute(path, endpoint, kind="api"|"page", methods=("GET",), access="read"|"write"|"manage")``
        is served at ``/api/p/<plugin><path>`` (kind ``api``) or ``/p/<plugin><path>`` (kind ``page``); its
        ``endpoint(ctx)`` receives a :class:`crmcore.web.contrib.WebContext` (request, authenticated user,
        an open unit of work acting as that user — read-only for ``access="read"`` — query and JSON body,
        ``ctx.render(template, **vars)`` for pages) and returns a JSON-ready value (api) or
        ``ctx.render(...)`` (page). A ``WebMount(path, app=… or factory=lambda crm: …, public=False)`` mounts an
        ASGI app at ``/hooks/<plugin><path>``; ``public=True`` skips the login check, for webhooks that verify
        their own signatures. Access is checked against the user's level *for this plugin* (role or per-plugin grant).
    :when: once, when the web application is built (``crm web``).
    """


@hookspec
def crm_web_panels():
    """Replace the generic rendering of the plugin's ``crm_customer_profile`` section on the customer page.

    :return: a list of :class:`crmcore.web.contrib.WebPanel` ``(section, template)``: ``section`` is the key
        of the profile section, ``template`` a Jinja2 template given as ``"package:path/in/package.html"``,
        rendered (auto-escaped) with ``section``, ``data``, ``customer``, ``lang``, ``t`` (translate) and the
        filters ``jdate`` (a date in the user's calendar), ``num`` (digits of the user's locale) and ``money``.
        Without a panel the section's data is shown as a definition list. Only for the deprecated
        ``ProfileSection``: a :class:`crmcore.ui.Panel` of components is rendered by the kernel.
    :when: once, when the web application is built.
    """


@hookspec
def crm_web_menu():
    """Add entries to the navigation menu of the web interface.

    :return: a list of :class:`crmcore.web.contrib.MenuItem` ``(label, href, label_fa=None,
        access="read")``; an entry is shown to users whose level for the plugin reaches ``access``.
    :when: once, when the web application is built.
    """


@hookspec
def crm_web_boards():
    """Offer a board of cards in columns (a sales pipeline, a ticket queue by status) at ``/boards/<plugin>/<key>``,
    where users move cards between columns by dragging or with buttons.

    :return: a list of :class:`crmcore.web.contrib.WebBoard`: ``key``, ``title`` (``title_fa``),
        ``load(uow, params) -> BoardData`` (columns of cards, read-only) and ``move(uow, card_id, column)``
        (called in a writing unit of work acting as the user; raise ``ValidationError``/``NotFound``/
        ``Conflict`` to refuse: nothing is stored and the user sees the message). Moving needs ``write``
        access for the plugin.
    :when: once, when the web application is built.
    """


@hookspec
def crm_web_lead_received(uow, customer, created, form):
    """A visitor sent the public lead form (``/forms/lead``): turn them into a lead, a ticket, a task…

    :param customer: the :class:`crmcore.storage.models.Customer` the form was filed under (tagged ``lead``).
    :param created: ``True`` when the customer is new; ``False`` when the phone or email matched an
        existing customer and a person accepted the submission (``crm customers leads accept``, the
        /leads page): an anonymous form never changes a stored customer by itself.
    :param form: the cleaned fields: ``name``, ``phone``, ``email``, ``message``, ``source`` (the ``?source=``
        the embedding page set, e.g. ``landing-nowruz``), ``page`` (the embedding page's URL, if sent),
        ``ref`` (a referral code the link carried: ``?ref=``), ``device`` (a digest of the visitor's
        address and browser).
    :when: inside the unit of work that stored the new customer, or that accepted the pending
        submission; raising rolls it back (the visitor, or the person accepting, is asked to try
        again).
    """


@hookspec
def crm_web_segment_actions():
    """Offer an action on a whole segment of customers in the customer list (``/customers``),
    beside the kernel's bulk actions (tag, assign an owner, export): e.g. hand the segment to a
    messaging campaign.

    :return: a list of :class:`crmcore.web.contrib.SegmentAction`: ``key``, ``label``
        (``label_fa``), ``fields`` (:class:`crmcore.web.contrib.SegmentField`: what the user fills
        in, ``options(uow)`` for a drop-down), ``access`` (the user's level for the plugin needed
        to see and run it) and ``run(uow, clauses, values) -> str``: called in a writing unit of
        work acting as the user with the segment's ``--where`` clauses (the same clauses
        ``crm customers export --where`` reads) and the filled fields; returns the message shown
        to the user. Raise ``ValidationError``/``Conflict`` to refuse: nothing is stored and the
        user sees the message.
    :when: once, when the web application is built; ``run`` when a user applies the action.
    """


@hookspec
def crm_web_phone_actions():
    """Offer a button beside every phone number on the customer page, e.g. click-to-call through
    the business's PBX.

    :return: a list of :class:`crmcore.web.contrib.PhoneAction` (``key``, ``label``/``label_fa``,
        ``path`` of the plugin's page route that receives the POST of ``customer_id`` and ``phone``
        (E.164) with CSRF, ``access`` needed, ``available(crm)`` deciding whether to show it now).
    :when: once, when the web application is built; ``available`` each time the page is drawn.
    """


@hookspec
def crm_web_dashboard_widgets(uow, user, dashboard):
    """Add widgets to the dashboard at ``/`` (the page a user opens first: today's work and the
    business's figures). Called for users whose level for the plugin reaches ``read``; show or
    hide more by role with ``user.can(level)`` / ``user.can(level, plugin)`` and narrow to the
    user's own work with ``user.username``.

    :param uow: a read-only unit of work acting as the user.
    :param user: the :class:`crmcore.web.auth.Principal` looking at the page.
    :param dashboard: a :class:`crmcore.web.dashboard.Dashboard`: ``dashboard.today`` and
        ``dashboard.month(back=0)`` (first and last day of this month, Jalali when the reader's
        calendar is), ``dashboard.month_period``, and ``dashboard.stat(label, report, path,
        kind=…, start=…, end=…, period=…, options=…)``, which runs one of the reports
        (``crm reports run REPORT --json``, the plugin's own or another's) and returns a
        :class:`crmcore.ui.Stat` showing the value at ``path`` (``totals.overdue``) that links to
        that report's page with the same parameters. Take every figure through it, so the
        dashboard always equals the report behind it (a test compares them with the CLI);
        ``dashboard.value(...)`` gives a raw value for charts and hints.
    :return: a list of :class:`crmcore.ui.Panel` (``key``, ``title``, ``order``: lower first; the
        kernel's sales are 10, customers 20, retention 30), holding :class:`crmcore.ui.Stat`,
        ``Progress``, ``Chart``, ``Table`` or ``Link`` components. A widget that raises is left out
        and the page says which plugin failed; the error is logged with the plugin's name.
    :when: each time a user opens the dashboard.
    """


@hookspec
def crm_web_customer_badges(uow, customer_ids):
    """Add one short badge per customer beside the name in the customer list (``/customers``):
    the tier, a status.

    :param uow: the page's read-only :class:`crmcore.uow.UnitOfWork`, acting as the viewer.
    :param customer_ids: the ids of the customers on the page (at most one page: 200).
    :return: ``{customer id: crmcore.ui.Badge}`` for those that get one, or ``None``. Ask for the
        whole page in one query (``WHERE customer_id IN (...)``), never one per row. A plugin the
        viewer may not read is not asked; one that raises or answers something else is left out
        and logged with its name (the list still shows).
    :when: each time a page of the customer list is shown.
    """
