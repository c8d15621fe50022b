"""`scope` in every template: menus, breadcrumbs and buttons ask the user's Scope
what they may open, so nothing a user is shown leads to a 403 or a 404."""

from django.utils.functional import SimpleLazyObject

from .access import scope_for


def registry_scope(request) -> dict:
    # Lazy: a page that shows no menu (the login page) asks nothing; a view that
    # already asked finds the scope cached on the user, so no query is added.
    return {"scope": SimpleLazyObject(lambda: scope_for(getattr(request, "user", None)))}
