"""sandbox_mocks package."""
