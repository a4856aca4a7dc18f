"""The public API of the kernel for plugins and integrators. Import from here, not from internals.

Plugins use: the hook markers, the manifest, the unit of work's services (customers, interactions),
the registries' value types (reports, jobs, search fields, profile sections, attribute specs), the
domain values (phones, emails, money, dates, Persian text keys), the declarative base for their
models, the errors, the UI components of :mod:`crmcore.ui` (``ui.Panel``, ``ui.Stat``,
``ui.Table``…, also importable by name), the one formatting layer
(:class:`crmcore.formatting.Formatter`) for anything shown to people, and the record rules
(``customer_clause``/``check_customer`` for customers, ``assignee_clause``/``check_assignee`` for a
plugin's records assigned to a user).
"""

from . import ui  # noqa: F401
from .app import CRM  # noqa: F401
from .batches import Batch, CustomerChange, NewCustomer, RecordedInteraction, Refusal  # noqa: F401
from .domain.dates import (  # noqa: F401
    JALALI_MONTHS,
    format_date,
    format_datetime,
    jalali_month_bounds,
    jalali_month_key,
    jalali_year_bounds,
    parse_date,
    parse_datetime,
    to_local,
    utcnow,
)
from .domain.emails import Email, parse_email  # noqa: F401
from .domain.money import Money, currency_exponent, format_money, parse_money  # noqa: F401
from .domain.phones import Phone, looks_like_phone, parse_phone  # noqa: F401
from .domain.text import (  # noqa: F401
    check_text,
    compact,
    normalize,
    search_tokens,
    to_ascii_digits,
    to_persian_digits,
    tokens,
)
from .errors import (  # noqa: F401
    Conflict,
    CRMError,
    Forbidden,
    NotFound,
    PluginError,
    PluginHookError,
    ValidationError,
)
from .formatting import (  # noqa: F401
    EMPTY,
    Formatter,
    FormattingError,
    cli_language,
    formatter_for,
    money_unit_of,
)
from .hooks import hookimpl, hookspec  # noqa: F401
from .integrations import Integration, shown_settings  # noqa: F401
from .jobs import Job  # noqa: F401
from .outbox.event import Event  # noqa: F401
from .plugin import PluginManifest  # noqa: F401
from .reports import Report, ReportParams, ReportResult, period_key, run_report  # noqa: F401
from .services.access import (  # noqa: F401
    Viewer,
    assignee_clause,
    check_assignee,
    check_customer,
    customer_allowed,
    customer_clause,
    reach,
)
from .services.attributes import AttributeSpec  # noqa: F401
from .services.customer_list import get_segment, list_segments  # noqa: F401
from .services.customers import (  # noqa: F401
    PreparedCustomer,
    add_customer,
    customer_to_dict,
    forget_customer,
    get_customer,
    merge_customers,
    prepare_customer,
    resolve_customer,
    update_customer,
)
from .services.interactions import (  # noqa: F401
    PreparedInteraction,
    interaction_to_dict,
    list_interactions,
    prepare_interaction,
    record_interaction,
)
from .services.notifications import (  # noqa: F401
    list_notifications,
    mark_read,
    notification_to_dict,
    notify_managers,
    notify_user,
)
from .services.profile import ProfileSection, profile_sections  # noqa: F401
from .services.search import Match, find_customers, search_customers  # noqa: F401
from .services.search_fields import SearchField, compare, search_fields, where_conditions  # noqa: F401
from .services.search_plan import SCORE_EXACT_CONTACT, Page  # noqa: F401
from .services.settings import get_setting, set_setting, settings_of  # noqa: F401
from .storage.base import Base, JSONType, UTCDateTime  # noqa: F401
from .storage.bulk import insert_rows, insert_with_ids, update_rows  # noqa: F401
from .storage.customer_data import CustomerData, numbered  # noqa: F401
from .storage.models import (  # noqa: F401
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    Interaction,
    OutboxEvent,
)
from .ui import (  # noqa: F401
    Action,
    ActionField,
    Badge,
    Chart,
    Column,
    Field,
    FieldList,
    Label,
    Link,
    Panel,
    Progress,
    Section,
    Stat,
    Table,
    TimelineEntry,
)
from .uow import UnitOfWork  # noqa: F401
from .web.contrib import (  # noqa: F401
    BoardCard,
    BoardColumn,
    BoardData,
    MenuItem,
    PhoneAction,
    SegmentAction,
    SegmentField,
    WebBoard,
    WebContext,
    WebMount,
    WebPanel,
    WebRoute,
)
from .workers.markers import on_event  # noqa: F401

#: what a plugin's CLI module needs from the ``crm`` command, imported when first asked for (the
#: web server and the workers import this module without loading click)
_CLI_NAMES = {
    "get_app": "get_app",
    "echo_json": "echo_json",
    "pass_app": "pass_app",
    "cli_console": "console",
    "CLIState": "CLIState",
}
#: the CLI output helper (:mod:`crmcore.cli.output`): ``output``, ``json_option``…
_OUTPUT_NAMES = {
    "output": "output",
    "json_option": "json_option",
    "cli_table": "table",
    "cli_fields": "fields",
    "cli_render": "render",
    "cli_plain": "plain",
    "cli_formatter": "formatter",
    "cut_line": "cut_line",
}


def __getattr__(name: str):
    if name in _CLI_NAMES:
        from .cli import context

        return getattr(context, _CLI_NAMES[name])
    if name in _OUTPUT_NAMES:
        from .cli import output

        return getattr(output, _OUTPUT_NAMES[name])
    raise AttributeError(f"module 'crmcore.api' has no attribute {name!r}")
