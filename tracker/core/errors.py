"""Errors the tracker reports to a person: each carries a message that says what to fix."""


class TrackerError(Exception):
    """Base class: the CLI prints the message and exits non-zero; pages show it as an error box."""


class CatalogError(TrackerError):
    """A catalog or seed file is malformed; the message names the file, line and field."""


class NotFoundError(TrackerError):
    """A named company, commitment, source or version does not exist."""


class PermissionDenied(TrackerError):
    """The acting user may not do this (role or company mismatch)."""


class ValidationError(TrackerError):
    """Input from a person (form, upload, command option) is not acceptable."""
