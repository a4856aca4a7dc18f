"""crmcore: a plugin-based CRM core.

The public API for plugins is :mod:`crmcore.api`; import from there.
"""

__version__ = "0.1.0"
