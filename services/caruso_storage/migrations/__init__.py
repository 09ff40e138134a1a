"""Alembic migrations of the storage service's own tables (see :mod:`caruso_storage.journal`)."""
