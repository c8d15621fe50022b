"""Template filters that ask the user's Scope whether a page opens for them:
`{% if scope|sees_commune:branch.commune_id %}<a href=...>{% endif %}`."""

from django import template

register = template.Library()


@register.filter
def sees_commune(scope, commune_id) -> bool:
    return bool(scope) and scope.sees_commune(commune_id)


@register.filter
def sees_village(scope, village) -> bool:
    return bool(scope) and scope.sees_village(village)


@register.filter
def sees_branch(scope, branch_id) -> bool:
    return bool(scope) and scope.sees_branch(branch_id)


@register.filter
def sees_member(scope, member) -> bool:
    return bool(scope) and scope.sees_member(member)
