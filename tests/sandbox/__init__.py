"""Sandbox mocks over real HTTP."""
