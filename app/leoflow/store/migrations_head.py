"""The newest migration, kept here so start-up can check the schema without importing Alembic.

tests/store/test_migrations.py fails when this drifts from the migration scripts.
"""

HEAD = "0004t"
