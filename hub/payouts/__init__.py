"""Bulk payouts to creditors (docs/payouts.md): shares pro rata in whole đồng, one batch per paying bank and
at most its limit, carried as ``payout_batch`` commands, the banks' reports matched back per creditor, and
re-sends of only the rejected transfers."""
