"""crmcore-loyalty: the customer club (باشگاه مشتریان) — points ledger, earning rules, rewards, expiry."""

__version__ = "0.1.0"
