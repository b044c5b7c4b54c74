"""Vercel cron -> EventBridge: the same fire times, or a refusal that says why.

The property test compares the next fire times of random five-field expressions, as ``croniter`` (a
reference cron evaluator) computes them, with those of the translated ``cron(...)`` as computed by
``_eventbridge_times`` below: a small evaluator written from AWS's documented EventBridge semantics (six
fields; day-of-week 1-7 from SUN; ``?`` in exactly one day field; ``,`` ``-`` ``*`` and ``/`` where
allowed). It shares no code with the translator, so a mistake in one is not repeated in the other.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from devstack.wiring.cron import CronError, eventbridge_cron


@pytest.mark.parametrize(("vercel", "eventbridge"), [
    ("*/15 * * * *", "cron(*/15 * * * ? *)"),
    ("0 3 * * *", "cron(0 3 * * ? *)"),
    ("30 2 * * 0", "cron(30 2 ? * 1 *)"),
    ("30 2 * * 7", "cron(30 2 ? * 1 *)"),
    ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),
    ("0 0 * * */2", "cron(0 0 ? * 1,3,5,7 *)"),  # Sun, Tue, Thu, Sat: not "*/3"
    ("0 0 * * 5-7", "cron(0 0 ? * 1,6,7 *)"),
    ("0 0 * * 1-1", "cron(0 0 ? * 2 *)"),
    ("0 12 1,15 * *", "cron(0 12 1,15 * ? *)"),
    ("0 0 */3 */2 *", "cron(0 0 */3 */2 ? *)"),
])
def test_known_translations(vercel: str, eventbridge: str) -> None:
    assert eventbridge_cron(vercel) == eventbridge


@pytest.mark.parametrize(("schedule", "says"), [
    ("0 0 1 * 1", "day-of-month and day-of-week are both set"),  # cron: the 1st OR Mondays
    ("0 0 1-7 * */2", "day-of-month and day-of-week are both set"),
    ("0 0 30 2 *", "never run"),
    ("0 0 * * MON", "no names"),
    ("0 0 * JAN *", "no names"),
    ("5/15 * * * *", "write a step over a range"),
    ("60 * * * *", "must lie in 0-59"),
    ("0 0 * * 8", "must lie in 0-7"),
    ("0 0 0 * *", "must lie in 1-31"),
    ("*/0 * * * *", "positive"),
    ("0 0 * *", "five fields"),
    ("0 0 L * *", "no names"),
])
def test_refusals_say_why(schedule: str, says: str) -> None:
    with pytest.raises(CronError, match=says):
        eventbridge_cron(schedule)


# ------------------------------------------------------------------------------------- the property

def _term(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    # a < b: croniter 7 reads a one-value range ("1-1") as "*", unlike cron (test_known_translations pins it)
    ranges = st.tuples(value, value).filter(lambda ab: ab[0] != ab[1]).map(sorted).map(lambda ab: f"{ab[0]}-{ab[1]}")
    stepped = st.tuples(ranges, st.integers(1, high - low + 1)).map(lambda rs: f"{rs[0]}/{rs[1]}")
    return st.one_of(value.map(str), ranges, stepped, st.integers(1, high - low).map(lambda n: f"*/{n}"))


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.one_of(st.just("*"), st.lists(_term(low, high), min_size=1, max_size=3).map(",".join))


@st.composite
def schedules(draw: st.DrawFn) -> str:
    minute, hour, month = draw(_field(0, 59)), draw(_field(0, 23)), draw(_field(1, 12))
    if draw(st.booleans()):
        dom, dow = draw(_field(1, 31)), "*"
    else:
        dom, dow = "*", draw(_field(0, 6))
    return f"{minute} {hour} {dom} {month} {dow}"


@settings(max_examples=300, deadline=None)
@given(schedules(), st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)))
def test_translation_fires_when_cron_does(schedule: str, start: datetime) -> None:
    try:
        translated = eventbridge_cron(schedule)
    except CronError:
        assume(False)  # only "never runs" is refused among these; its pins are in test_refusals_say_why
        return
    start = start.replace(second=0, microsecond=0, tzinfo=UTC)
    reference = croniter(schedule, start)
    expected = [reference.get_next(datetime) for _ in range(5)]
    assert _eventbridge_times(translated, start, 5) == expected, (schedule, translated)


def test_a_day_some_listed_month_has_is_kept() -> None:
    assert eventbridge_cron("0 0 31 4,7 *") == "cron(0 0 31 4,7 ? *)"  # runs on July 31st only
    with pytest.raises(CronError, match="never run"):
        eventbridge_cron("0 0 31 4,6,9,11 *")


# ------------------------------------------------------------------------------------- EventBridge

def _eb_values(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = map(int, base.split("-"))
        else:
            first = int(base)
            last = high if step else first  # EventBridge: "1/10" = from 1, every 10
        values |= set(range(first, last + 1, int(step or 1)))
    return values


def _eventbridge_times(expression: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times (strictly after ``after``) that an EventBridge ``cron(...)`` fires, UTC."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    minute, hour, dom, month, dow, year = fields
    assert year == "*" and (dom == "?") != (dow == "?"), "exactly one day field is '?'"
    minutes, hours = sorted(_eb_values(minute, 0, 59)), sorted(_eb_values(hour, 0, 23))
    months = _eb_values(month, 1, 12)
    days = None if dom == "?" else _eb_values(dom, 1, 31)
    weekdays = None if dow == "?" else _eb_values(dow, 1, 7)  # 1 = SUN ... 7 = SAT
    found: list[datetime] = []
    day = after.date()
    for _ in range(366 * 12):
        if day.month in months and day.day <= calendar.monthrange(day.year, day.month)[1]:
            sunday_first = (day.weekday() + 1) % 7 + 1  # Python: Monday=0 -> EventBridge: MON=2
            if (days is None or day.day in days) and (weekdays is None or sunday_first in weekdays):
                for h in hours:
                    for m in minutes:
                        when = datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)
                        if when > after:
                            found.append(when)
                            if len(found) == count:
                                return found
        day += timedelta(days=1)
    return found
