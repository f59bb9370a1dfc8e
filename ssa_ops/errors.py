class ApplicationError(Exception):
    """A business rule said no. Views show the message; the API answers with code and status."""

    code = "invalid"
    status_code = 400

    def __init__(self, message, *, code=None, extra=None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.extra = extra or {}


class TransitionNotAllowed(ApplicationError):
    """The record is not in a state where that act is possible (e.g. already decided)."""

    code = "transition_not_allowed"
    status_code = 409
