"""Small display filters the pages share."""

import datetime

from django import template

register = template.Library()


@register.filter
def minutes(delta: datetime.timedelta) -> int:
    """A duration in whole minutes, rounded up: "wait 15 minutes"."""
    if not isinstance(delta, datetime.timedelta):
        return 0
    return -int(-delta.total_seconds() // 60)
