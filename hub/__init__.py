"""thads-hub core."""
