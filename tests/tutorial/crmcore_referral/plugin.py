from crmcore.plugin import PluginManifest

from . import __version__

manifest = PluginManifest(
    name="referral",
    version=__version__,
    description="A customer who brings a new customer earns loyalty points after the newcomer's first purchase",
    requires=("loyalty",),
    kernel=">=0.1,<0.2",
    hooks="crmcore_referral.hooks",
    hookspecs="crmcore_referral.hookspecs",
    distribution="crmcore-referral",
)
