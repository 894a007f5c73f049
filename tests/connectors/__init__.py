"""Connector tests against the running sandbox."""
