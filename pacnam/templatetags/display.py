"""Small display filters the pages share."""

import datetime
import re

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst

from pacnam.lib.dates import two_levels as _two_levels
from pacnam.models import AUDIT_ACTIONS

register = template.Library()

ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


@register.simple_tag
def two_levels(day: datetime.date | None = None) -> bool:
    """`{% two_levels as provinces %}`: whether `day` (today) falls after 1 July
    2025, when the words of a page name the province, not the district."""
    return _two_levels(day)


@register.filter
def minutes(delta: datetime.timedelta) -> int:
    """A duration in whole minutes, rounded up: "wait 15 minutes"."""
    if not isinstance(delta, datetime.timedelta):
        return 0
    return -int(-delta.total_seconds() // 60)


@register.filter
def audit_action(code: str) -> str:
    """An audit entry's action in words ("branch_dissolve": "giải thể chi bộ")."""
    return str(AUDIT_ACTIONS.get(code, (code or "").replace("_", " ")))


@register.filter
def dmy_dates(text) -> str:
    """Text with its ISO dates written as Vietnamese write them: entries logged
    before the pages said dd/mm/yyyy keep 2019-04-01 in their stored words."""
    return ISO_DATE.sub(r"\3/\2/\1", str(text or ""))


@register.filter
def field_label(opts, name: str) -> str:
    """A model field's label from its options (`opts`), or the name as it is."""
    try:
        return capfirst(opts.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):
        return name


@register.filter
def dong(amount) -> str:
    """An amount in đồng as Vietnamese write it: 20000 → "20.000"."""
    try:
        return f"{int(amount):,}".replace(",", ".")
    except (TypeError, ValueError):
        return ""
