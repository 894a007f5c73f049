"""Resilience shared by every connector: deadlines, retries, rate limits and circuit breakers.

Rate limits and breakers keep their state in Redis, so all API processes and workers of a deployment
respect one quota per agency and see one breaker state.
"""
