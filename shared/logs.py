"""Structured JSON logs (Powertools Logger) with secrets redacted from every line.

Each invocation binds ``function_name``, ``request_id`` and ``cold_start`` (``shared.invocation``) in
context-local keys, so every line carries its own invocation's keys on Vercel and on Lambda alike, even
when Fluid compute runs concurrent requests in one instance.
"""

from __future__ import annotations

import functools
import logging
import sys

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "tierwatch"


def _redact(line: str) -> str:
    from shared.errors import ConfigError
    from shared.settings import get_settings, raw_secrets, redact

    try:
        return get_settings().redact(line)
    except ConfigError:  # settings do not parse: the raw values are still secrets
        return redact(line, raw_secrets())


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Replaces every configured secret value wherever it appears in the rendered line.

    Secrets are looked up per line from the cached settings, so the formatter can never hold stale ones.
    """

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record))


class _Stdout:
    """Writes to whatever ``sys.stdout`` is now (runtimes and test runners swap it after import)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@functools.lru_cache(maxsize=1)
def get_logger() -> Logger:
    """The process-wide logger (one per warm instance)."""
    return Logger(service=SERVICE, logger_formatter=RedactingFormatter(), stream=_Stdout())  # type: ignore[arg-type]
