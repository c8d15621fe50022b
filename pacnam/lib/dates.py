"""Date arithmetic shared by every app: months and years, and working days.

Working days are Monday to Friday, minus settings.HOLIDAYS. Party deadlines ("present the letter within 30 working days") count working
days, not calendar days; the holiday list is configurable because the
government moves bridging days every year.
"""

import datetime
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

# The one way dates are typed, whatever the interface language or the browser's:
# as Vietnamese write them (05/04/2019 is 5 April), or as ISO (2019-04-05, what
# the export and old links use). Never month first.
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
MONTH_INPUT_FORMATS = ["%m/%Y", "%Y-%m"]

# Local government of two levels (Nghị quyết 202/2025/QH15; for the Party, Quy định
# 294 and 298-QĐ/TW): from this day there are no districts, a commune is directly
# under its province. Words that name the level above a commune ("trong huyện",
# "Ban Tổ chức Huyện ủy") depend on which side of it the day they are about falls.
TWO_LEVELS_FROM = datetime.date(2025, 7, 1)


def two_levels(day: datetime.date | None = None) -> bool:
    """Whether `day` (today when empty) falls under the two-level government."""
    return (day or timezone.localdate()) >= TWO_LEVELS_FROM


def dmy(day: datetime.date) -> str:
    """A date as Vietnamese write it: 05/04/2019."""
    return day.strftime("%d/%m/%Y")


def parse_day(text: str) -> datetime.date | None:
    """A date typed as dd/mm/yyyy or yyyy-mm-dd; None when it is neither."""
    return _parse(text, DATE_INPUT_FORMATS)


def day_asked(raw: str, default: datetime.date | None = None) -> tuple[datetime.date, str | None]:
    """The day a page is asked to show (?as_of=, dd/mm/yyyy or yyyy-mm-dd), `default`
    (today) when none is given, and a message when it cannot be read or is still to
    come (the registry knows nothing of it yet): the page then shows `default`."""
    today = timezone.localdate()
    default = default or today
    raw = (raw or "").strip()
    if not raw:
        return default, None
    value = parse_day(raw)
    if value is None:
        if default != today:
            return default, _("“%(value)s” is not a date (dd/mm/yyyy); showing %(date)s.") % {
                "value": raw[:20],
                "date": dmy(default),
            }
        return default, _("“%(value)s” is not a date (dd/mm/yyyy); showing today.") % {
            "value": raw[:20]
        }
    if value > today:
        if default != today:
            return default, _("Rosters of future dates are not known; showing %(date)s.") % {
                "date": dmy(default)
            }
        return default, _("Rosters of future dates are not known; showing today.")
    return value, None


def parse_month(text: str) -> datetime.date | None:
    """The first day of a month typed as mm/yyyy or yyyy-mm; None when it is neither."""
    return _parse(text, MONTH_INPUT_FORMATS)


def _parse(text: str, formats) -> datetime.date | None:
    text = (text or "").strip()
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def add_years(date: datetime.date, years: int) -> datetime.date:
    try:
        return date.replace(year=date.year + years)
    except ValueError:  # 29 February in a year without one
        return date.replace(year=date.year + years, day=28)


def add_months(date: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or the month's last day when it has no such day."""
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    for day in (date.day, 30, 29, 28):
        try:
            return date.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


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
