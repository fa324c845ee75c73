"""Errors a user sees: each names the file (and line or key) that caused it."""


class QCError(Exception):
    """Base class; the CLI prints the message and exits non-zero."""


class ConfigError(QCError):
    def __init__(self, file, where, message):
        self.file, self.where = str(file), where
        super().__init__(f"{file}:{where}: {message}")


class InputFileError(QCError):
    """A whole input file cannot be read (missing, unknown format, not decodable)."""

    def __init__(self, file, message):
        self.file = str(file)
        super().__init__(f"{file}: {message}")
