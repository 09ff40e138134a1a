"""Alembic environment: runs on the connection handed in by :func:`caruso_storage.migrate.upgrade`."""
from alembic import context

from caruso_storage.journal import metadata
from caruso_storage.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
