"""What Vercel Hobby makes of a five-field cron: does it run more than once a day, and its daily form.

Vercel Hobby rejects a deployment whose cron runs more than once a day, so the Vercel wiring asks these
two questions of every registry schedule. Day fields (day of month, month, day of week) only choose
*which* days, so an expression runs at most once a day exactly when its minute and hour are one value.
"""

from __future__ import annotations

import re

__all__ = ["daily", "fields", "more_than_daily"]

_SINGLE = re.compile(r"\d+")


def fields(expr: str) -> tuple[str, str, str, str, str]:
    """``minute hour day-of-month month day-of-week``; ``ValueError`` unless there are exactly five."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(f"{expr!r} is not a five-field cron expression")
    minute, hour, dom, month, dow = parts
    return minute, hour, dom, month, dow


def more_than_daily(expr: str) -> bool:
    """Whether ``expr`` can fire more than once on a day (``*/15 * * * *``, ``0 9,21 * * *``)."""
    minute, hour, *_ = fields(expr)
    return not (_SINGLE.fullmatch(minute) and _SINGLE.fullmatch(hour))


def _first(field: str) -> str:
    """The first value a minute or hour field matches: ``*``/``*/n`` -> 0, ``a-b``/``a,b``/``a/n`` -> a."""
    head = field.split(",")[0].split("/")[0].split("-")[0]
    return "0" if head == "*" else str(int(head))


def daily(expr: str) -> str:
    """``expr`` run once a day, at its first time of day, on the same days (``*/15 * * * 1-5`` -> ``0 0 * * 1-5``)."""
    minute, hour, dom, month, dow = fields(expr)
    return f"{_first(minute)} {_first(hour)} {dom} {month} {dow}"
