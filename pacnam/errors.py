class DomainError(Exception):
    """A rule of the registry refused an action. The message is shown to the user
    as it is, so it is always a translated, complete sentence."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)
