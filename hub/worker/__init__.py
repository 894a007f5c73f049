"""Workers over Redis Streams: bounded queues, at-least-once handlers, dead letters (docs/worker.md)."""

from hub.worker.handler import QueueHandler, Reject, RetryLater
from hub.worker.streams import DeadLetter, Entry, QueueFull, WorkQueue

__all__ = ["DeadLetter", "Entry", "QueueFull", "QueueHandler", "Reject", "RetryLater", "WorkQueue"]
