"""The voip plugin's manifest (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="voip",
    version=__version__,
    description="Caller-ID screen pop (Asterisk AMI, Twilio, signed JSON webhooks), call logging, missed-call follow-up",
    requires=(),
    kernel=">=0.1,<0.2",
    hooks="crmcore_voip.hooks",
    hookspecs="crmcore_voip.hookspecs",
    models="crmcore_voip.models",
    cli="crmcore_voip.cli:voip",
    cli_help="Telephony: screen pops, call log, missed-call follow-ups, click-to-call.",
    migrations="crmcore_voip.migrations",
    distribution="crmcore-voip",
)
