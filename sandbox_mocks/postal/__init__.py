"""VNPost (Tổng công ty Bưu điện Việt Nam) registered mail, as a sandbox mock."""

from sandbox_mocks.postal.mock import PostalMock, s10_check_digit, s10_number, s10_valid

__all__ = ["PostalMock", "s10_check_digit", "s10_number", "s10_valid"]
