"""Transports and infrastructure."""
