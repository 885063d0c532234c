"""The one exception type that reaches the user as a one-line message (no traceback)."""


class VigieError(Exception):
    """A problem the user can fix: the CLI prints `vigie: <message>` and exits non-zero."""

    exit_code = 2
