"""crmcore-surveys: NPS/CSAT/CES surveys triggered by events."""

__version__ = "0.1.0"
