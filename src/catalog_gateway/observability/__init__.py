"""Observability: Prometheus metrics (`metrics`), structured logs (`logging`), the request's
id, log line and timings (`middleware`), and `GET /metrics` (`router`)."""
