"""The manifest of the messaging plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="messaging",
    version=__version__,
    description="SMS and email: templates, event and date triggers, campaigns, consent, outbox with retries",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_messaging.hooks",
    models="crmcore_messaging.models",
    cli="crmcore_messaging.cli:messages",
    cli_name="messages",
    cli_help="SMS and email: templates, sending, campaigns, triggers, consent and the delivery log.",
    migrations="crmcore_messaging.migrations",
    distribution="crmcore-messaging",
)
