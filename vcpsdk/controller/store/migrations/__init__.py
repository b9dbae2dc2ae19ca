"""Alembic migrations of the controller's database (see ``..schema``)."""
