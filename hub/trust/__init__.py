"""Trust: the dev PKI and the hub's use of the signed envelope (the mechanics live in adapters)."""
