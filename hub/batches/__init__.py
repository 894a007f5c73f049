"""Re-verification batches: upload, queue, worker handler, progress and results."""
