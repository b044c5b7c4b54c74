"""Lambda entry for HTTP functions: Mangum with lifespan off.

Lifespan off, because otherwise FastAPI's startup would run on every invocation. Logging context
(request id, cold start) comes from the per-request middleware, which reads the Lambda context that
Mangum puts in the ASGI scope, so Vercel and Lambda log the same keys.
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum


def lambda_handler(app: Any) -> Mangum:
    """Wrap an ASGI app for API Gateway HTTP API v2, function URLs and ALB events."""
    return Mangum(app, lifespan="off", api_gateway_base_path="/")
