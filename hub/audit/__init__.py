"""The tamper-evident message log: who asked what about whom, for which case."""
