"""The manifest of the referrals plugin (cheap to import: no SQLAlchemy, no models)."""

from crmcore.api import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="referrals",
    version=__version__,
    description="Customer networking: referral codes, rules with levels and caps, rewards, abuse checks",
    requires=(),
    uses=("loyalty",),  # with loyalty rewards are points; without, they go to a hook
    kernel=">=0.1,<0.2",
    hooks="crmcore_referrals.hooks",
    hookspecs="crmcore_referrals.hookspecs",
    models="crmcore_referrals.models",
    cli="crmcore_referrals.cli:referrals",
    cli_help="Customer networking (معرفی دوستان): referral codes, referrals, rules, rewards.",
    migrations="crmcore_referrals.migrations",
    distribution="crmcore-referrals",
)
