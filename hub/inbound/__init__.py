"""What agencies push into the hub: courts' judgments, the procuracy's protests and recommendations,
banks' events. See docs/inbound.md for the pipeline, the answers and the records."""
