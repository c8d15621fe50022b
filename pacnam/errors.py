class DomainError(Exception):
    """A rule of the registry refused an action. The message is shown to the user
    as it is, so it is always a translated, complete sentence."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(DomainError):
    """The user may see the record but not take this action. Views turn it into a
    403 (healthchecks' read-only rule); outside one's scope it is a 404 before this."""
