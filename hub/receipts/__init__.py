"""Electronic receipts (biên lai thu tiền điện tử) for money an office received: numbered without gaps
per office and year, signed by the hub, with a QR code of the public URL that tells anyone whether a
receipt is genuine (GET /v1/receipts/{id}/verify)."""
