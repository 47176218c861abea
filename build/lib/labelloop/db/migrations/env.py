"""Alembic environment: the URL and connection come from labelloop.db.migrate, never from an ini file."""

from alembic import context

from labelloop.db.models import Base

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
