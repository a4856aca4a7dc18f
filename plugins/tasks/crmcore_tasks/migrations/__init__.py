"""Alembic branch ``tasks`` of the tasks plugin."""
