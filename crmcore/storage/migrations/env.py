"""Alembic environment shared by the kernel and every plugin branch (run through crmcore.storage.migrate)."""

from alembic import context

import crmcore.storage.models  # noqa: F401  (kernel tables on the metadata)
from crmcore.storage.base import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through `crm init` / crmcore.storage.migrate, which pass a connection"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=config.attributes.get("include_object"),
    compare_type=True,
    # new revisions name the kernel's column types through the public API plugins import
    user_module_prefix="crmcore.api.",
)
with context.begin_transaction():
    context.run_migrations()
