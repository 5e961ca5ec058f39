"""Clients of external systems, each with timeouts, retries and a circuit breaker."""
