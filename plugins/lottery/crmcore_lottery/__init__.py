"""crmcore-lottery: raffles with entries from purchases, points and lottery cards, and auditable draws."""

__version__ = "0.1.0"
