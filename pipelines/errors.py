"""The one exception type that reaches the user as a one-line message (no traceback)."""


class VigieError(Exception):
    """A problem the user can fix: the CLI prints `vigie: <message>` and exits non-zero (2 by
    default: bad input; 1 for a failure of Vigie itself)."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
