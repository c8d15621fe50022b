from django import template

register = template.Library()


@register.filter
def pick(mapping, key):
    """{{ both|pick:kind }}: a dictionary value by a key held in a variable."""
    return mapping.get(key)
