"""The plugin built step by step in docs/tutorial.md: a customer who brings a new customer earns points."""

__version__ = "0.1.0"
