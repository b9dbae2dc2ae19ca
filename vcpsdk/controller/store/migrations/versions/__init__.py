"""Revisions of the controller's database schema, oldest first (``0001`` = vcpsdk 26.11.0)."""
