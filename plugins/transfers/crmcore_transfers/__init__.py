"""crmcore-transfers: member-to-member point transfers under the loyalty program's [transfers] policy."""

__version__ = "0.1.0"
