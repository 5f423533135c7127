"""Domain errors raised by services; views turn them into messages."""


class DomainError(Exception):
    """A request that the rules refuse. ``message`` is shown to the user."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass
