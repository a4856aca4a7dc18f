"""Alembic branch ``pipeline`` (revisions in ``versions/``)."""
