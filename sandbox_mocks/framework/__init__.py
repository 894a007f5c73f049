"""What every mock agency shares: fault injection, the recorder, signing of answers, admin endpoints."""
