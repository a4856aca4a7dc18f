"""Alembic branch ``voip``."""
