"""Working days for deadlines: Monday to Friday, minus settings.HOLIDAYS.

Party deadlines ("present the letter within 30 working days") count working
days, not calendar days; the holiday list is configurable because the
government moves bridging days every year.
"""

import datetime
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _holidays(raw: tuple[str, ...]) -> frozenset[datetime.date]:
    return frozenset(datetime.date.fromisoformat(day) for day in raw)


def holidays() -> frozenset[datetime.date]:
    # Keyed on the setting's value so tests that override HOLIDAYS are seen.
    return _holidays(tuple(settings.HOLIDAYS))


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in holidays()


def add_working_days(start: datetime.date, n: int) -> datetime.date:
    """The day `n` working days after `start` (`start` itself does not count).

    add_working_days(Friday, 1) is the next Monday, or Tuesday if Monday is a holiday.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    while n:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days after `start` up to and including `end` (0 if end <= start)."""
    count = 0
    day = start
    while day < end:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
