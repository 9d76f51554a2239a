"""One root error for the whole library.

Library code raises; only the CLI (and later the gateway's exception handlers) prints, exits or
chooses status codes. Every error carries a human ``diagnostics()`` text naming what went wrong and,
where there is one, the file.
"""

from __future__ import annotations


class WardenError(Exception):
    """Root of every error Warden raises on purpose."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def diagnostics(self) -> str:
        where = f"{self.path}: " if self.path else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.diagnostics()


class UsageError(WardenError):
    """The user asked for something that cannot be done as asked (maps to exit code 2)."""


class SourceError(WardenError):
    """A model source (directory, file, hub id) could not be resolved or read."""


class FormatError(WardenError):
    """A file is malformed for the format it claims to be. Parsers raise it; the scanner turns it
    into a finding that names the file and the problem."""

    def __init__(
        self, message: str, *, path: str | None = None, offset: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, path=path, hint=hint)
        self.offset = offset


class LimitExceeded(FormatError):
    """A size, count or depth limit was hit while parsing (zip bomb, huge length field, ...)."""
