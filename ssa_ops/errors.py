class ApplicationError(Exception):
    """A business rule said no. Views show the message; the API answers with code and status."""

    code = "invalid"
    status_code = 400

    def __init__(self, message, *, code=None, extra=None, text=None):
        super().__init__(message)
        self.message = str(message)
        # The same sentence kept for later readers (texts.text_store), where it is stored.
        self.text = text
        if code:
            self.code = code
        self.extra = extra or {}


class TransitionNotAllowed(ApplicationError):
    """The record is not in a state where that act is possible (e.g. already decided)."""

    code = "transition_not_allowed"
    status_code = 409


class PermissionRefused(ApplicationError):
    """The user may not do this (no permission, or a rule such as four eyes)."""

    code = "permission_denied"
    status_code = 403
