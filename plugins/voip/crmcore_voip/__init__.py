"""crmcore-voip: caller-ID screen pop, call logging and missed-call follow-up for crmcore."""

__version__ = "0.1.0"
