"""FastAPI's native OpenTelemetry, switched off for the service's apps.

FastAPI asks the global OpenTelemetry providers on every request whether its telemetry is on
(profiled: about a tenth of the event loop's time under a flood of 429s). The service exports
Prometheus metrics (`observability.metrics`) and structured logs, and configures no
OpenTelemetry, so its apps say so once, when they are built.
"""

from __future__ import annotations

from fastapi.telemetry import TelemetryConfig

NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
