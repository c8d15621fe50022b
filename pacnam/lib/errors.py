"""The two ways a rule refuses an action, for every app.

DomainError: the action breaks a rule of the registry; views show its message as
a form error or a message, and nothing is written.
NotAllowed: the user may see the record but not take this action; Django answers
403 (it is a PermissionDenied), so views need no code for it. Outside one's
scope a record is a 404 before any of this (branches.access).
"""

from django.core.exceptions import PermissionDenied


class DomainError(Exception):
    """A rule of the registry refused an action. The message is shown to the user
    as it is, so it is always a translated, complete sentence."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(PermissionDenied):
    """The user may see the record but not take this action (healthchecks'
    read-only rule): a 403 with this message."""

    def __init__(self, message=""):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)
