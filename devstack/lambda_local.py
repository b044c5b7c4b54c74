"""Invoke a Lambda handler in-process, as ``sam local invoke`` would without Docker.

Builds API Gateway HTTP API (v2) and EventBridge events and a context whose remaining time counts
down from the function's configured timeout, so the guard sees what it would see on Lambda.
"""

from __future__ import annotations

import importlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from shared.spec import FunctionSpec


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that our handlers and Powertools read."""

    function_name: str
    timeout_s: float
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._started + self.timeout_s - time.monotonic()) * 1000))


def http_event(method: str, path: str, *, query: dict[str, str] | None = None,
               headers: dict[str, str] | None = None, body: str | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API payload v2.0 event (the shape function URLs send too)."""
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"host": "localhost", "user-agent": "tierwatch-invoke", **(headers or {})},
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "localhost",
            "domainPrefix": "localhost", "requestId": uuid.uuid4().hex, "routeKey": "$default",
            "stage": "$default", "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "tierwatch-invoke"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def schedule_event(rule: str = "tierwatch-local") -> dict[str, Any]:
    """An EventBridge scheduled event, as a cron rule delivers it."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"],
        "detail": {},
    }


def default_event(spec: FunctionSpec, route: str | None = None) -> dict[str, Any]:
    """What a function normally receives: the named route's request, else its schedule for crons, else
    a call of its first GET route (its first route when it has no GET)."""
    if route is None and spec.schedule:
        return schedule_event(spec.name)
    chosen = spec.route(route) if route else next((r for r in spec.routes if r.method == "GET"), spec.routes[0])
    return http_event(chosen.method, chosen.path)


def load_event(path: Path) -> dict[str, Any]:
    event = json.loads(path.read_text())
    if not isinstance(event, dict):
        raise ValueError(f"{path}: an event must be a JSON object")
    return event


def invoke(spec: FunctionSpec, event: dict[str, Any], *, timeout_s: float | None = None) -> Any:
    """Import the function's Lambda handler and call it with ``event`` and a fresh context."""
    module = importlib.import_module(f"{spec.module}.handler")
    context = LambdaContext(function_name=spec.name, timeout_s=timeout_s or spec.max_duration,
                            memory_limit_in_mb=spec.memory)
    return module.handler(event, context)
