"""The Alembic branch of the lottery plugin (branch label ``lottery``)."""
