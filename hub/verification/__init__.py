"""Verification (xác minh): one request, every needed agency asked at once, one report."""
