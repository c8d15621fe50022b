"""The signed-in user of a request, typed: behind `login_required` (or a check of
`is_authenticated`) `request.user` is a User, never the AnonymousUser that its
declared type also allows."""

from django.contrib.auth.models import User
from django.http import HttpRequest


def signed_in_user(request: HttpRequest) -> User:
    """`request.user` of a view that only a signed-in user reaches."""
    user = request.user
    assert user.is_authenticated, "signed_in_user() in a view open to anonymous users"
    return user
