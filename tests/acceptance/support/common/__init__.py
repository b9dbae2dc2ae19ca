"""Notebook-side helpers of the OCS notebooks (not part of the SDK)."""
