"""Errors shared by every layer; each carries the exit code of the command-line contract (DESIGN §5)."""


class GenCurveError(Exception):
    """Base class: a failure with one clear, user-facing line of text."""

    exit_code = 1


class BadInputError(GenCurveError):
    """Bad arguments or a bad input file (exit code 2)."""

    exit_code = 2


class ModelLoadError(GenCurveError):
    """The model cannot be loaded (exit code 3)."""

    exit_code = 3


class OutOfMemoryError(GenCurveError):
    """The device ran out of memory (exit code 4)."""

    exit_code = 4


class CancelledError(GenCurveError):
    """The operation was cancelled by the user (exit code 130)."""

    exit_code = 130


class EditFailedError(GenCurveError):
    """An edit diverged (NaN / inf in the loss); nothing was changed (exit code 1)."""

    exit_code = 1


class NonFiniteError(GenCurveError):
    """A result came out NaN / inf (e.g. half-precision overflow); nothing is reported as success (exit code 1)."""

    exit_code = 1
