"""crmcore-messaging: SMS and email with templates, occasions, campaigns and consent."""

__version__ = "0.1.0"
