"""`{{ obj|label:"field" }}`: the display label of a choice field, from a dict built
once per field. Django's get_FOO_display() rebuilds a hashable copy of the
choices on every call; on a roster of a hundred rows that was a fifth of the
page's time. The labels stay lazy: translated when rendered."""

from django import template

register = template.Library()

_labels: dict = {}


@register.filter
def label(obj, field_name: str):
    key = (type(obj), field_name)
    labels = _labels.get(key)
    if labels is None:
        field = obj._meta.get_field(field_name)
        labels = _labels[key] = {value: text for value, text in field.flatchoices}
    value = getattr(obj, field_name)
    return labels.get(value, value)
