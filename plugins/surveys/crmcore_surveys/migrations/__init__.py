"""The Alembic branch of the surveys plugin (branch label ``surveys``)."""
