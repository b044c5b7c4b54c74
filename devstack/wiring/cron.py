"""Vercel's five-field UTC cron -> EventBridge Scheduler's six-field ``cron(...)``, or a clear refusal.

Each field is expanded to the set of values it names and written back with only ``,`` and ``-`` (and
``*`` or ``*/n`` where both dialects read them alike), so no operator whose meaning differs between
the two is ever copied: EventBridge has no day-of-week step, and numbers days 1-7 from Sunday where
cron numbers them 0-6 (or 7). Cron fires when the day-of-month *or* the day-of-week matches if both are
restricted; EventBridge needs one of them to be ``?`` and cannot say "or", so that is refused rather
than silently narrowed. So is a schedule that can never fire (``0 0 30 2 *``), which EventBridge would
accept and never run.
"""

from __future__ import annotations

import calendar

# (name, lowest, highest) of the five cron fields; day-of-week 7 is Sunday, as 0.
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12),
          ("day-of-week", 0, 7))
# Fields in which `*/n` means the same in EventBridge (counting from the lowest value).
_STEPPED = ("minute", "hour", "day-of-month", "month")


class CronError(ValueError):
    """A schedule that cannot be translated; the message says why and what to write instead."""


def eventbridge_cron(schedule: str) -> str:
    """``"0 9 * * 1-5"`` -> ``"cron(0 9 ? * 2-6 *)"``; ``CronError`` when EventBridge cannot say the same."""
    parts = schedule.split()
    if len(parts) != 5:
        raise CronError(f"{schedule!r}: expected five fields (minute hour day-of-month month day-of-week)")
    sets = [parse_field(text, *field) for text, field in zip(parts, FIELDS, strict=True)]
    minutes, hours, days, months, weekdays = sets
    dom_any, dow_any = parts[2] == "*", parts[4] == "*"
    if not dom_any and not dow_any:
        raise CronError(f"{schedule!r}: day-of-month and day-of-week are both set, so cron runs when either "
                        "matches; EventBridge cannot express that. Set one of them to '*' (or use two "
                        "schedules).")
    if not any(day <= _longest(month) for month in months for day in days):
        raise CronError(f"{schedule!r}: no month in the schedule has such a day: it would never run")
    fields = [_render(minutes, *FIELDS[0]), _render(hours, *FIELDS[1])]
    if dow_any:
        fields += [_render(days, *FIELDS[2]), _render(months, *FIELDS[3]), "?"]
    else:
        sundays_first = frozenset(day % 7 + 1 for day in weekdays)  # cron 0|7=Sun..6=Sat -> 1=SUN..7=SAT
        fields += ["?", _render(months, *FIELDS[3]), _render(sundays_first, "day-of-week", 1, 7)]
    return f"cron({' '.join(fields)} *)"


def parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    """The values one cron field names: ``*``, ``a``, ``a-b``, ``*/n``, ``a-b/n`` and lists of them."""
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and (not step_text.isdigit() or int(step_text) == 0):
            raise CronError(f"{name} {text!r}: a step must be a positive number")
        if base == "*":
            first, last = low, high
        else:
            first_text, dash, last_text = base.partition("-")
            if not first_text.isdigit() or (dash and not last_text.isdigit()):
                raise CronError(f"{name} {text!r}: only numbers, '*', ',', '-' and '/' are supported "
                                "(no names such as MON or JAN, as on Vercel)")
            if slash and not dash:
                raise CronError(f"{name} {text!r}: write a step over a range ('{first_text}-{high}/"
                                f"{step_text}'): implementations read '{base}/n' differently")
            first, last = int(first_text), int(last_text if dash else first_text)
        if not low <= first <= last <= high:
            raise CronError(f"{name} {text!r}: values must lie in {low}-{high}, ranges low to high")
        values.update(range(first, last + 1, int(step_text or 1)))
    return frozenset(values)


def _longest(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def _render(values: frozenset[int], name: str, low: int, high: int) -> str:
    full = range(low, high + 1)
    if values >= set(full):
        return "*"
    if name in _STEPPED:
        for step in range(2, high - low + 1):
            if values == set(range(low, high + 1, step)):
                return f"*/{step}"
    ordered = sorted(values)
    runs: list[list[int]] = []
    for value in ordered:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs)
