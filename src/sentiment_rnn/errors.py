"""Every error sentiment-rnn raises on purpose derives from one base class.

    SentimentRNNError
    ├── ConfigError        an unknown setting, a bad value, a bad combination
    ├── DataError          a file, row, column, label or archive member that cannot be used
    │   └── DownloadError  a download that failed or did not match its checksum
    ├── ModelError         a model folder that is missing, incomplete or incompatible
    ├── OutputError        a file that cannot be written (a full disk); what was there before is kept
    ├── TrackingError      a tracking store that cannot be reached; a run, model or alias that does not exist
    └── QueueFull          the service's prediction queue is full (answered 503 with Retry-After)

`DataError` carries where the problem is (`source`, and `line`/`row`/`member` when known) so that
the CLI can print one line a user can act on.
"""

from __future__ import annotations


class SentimentRNNError(Exception):
    """Base class of all errors raised by sentiment-rnn on purpose."""


class ConfigError(SentimentRNNError, ValueError):
    """A setting that does not exist, has a bad value, or conflicts with another."""


class DataError(SentimentRNNError, ValueError):
    """Input data that cannot be used; the message names the file and the line, row or member."""

    def __init__(self, message: str, *, source: str | None = None, location: str | None = None):
        self.source = source
        self.location = location
        where = ", ".join(part for part in (source, location) if part)
        super().__init__(f"{where}: {message}" if where else message)


class DownloadError(DataError):
    """A download that failed, or whose content does not match the expected checksum."""


class ModelError(SentimentRNNError):
    """A saved model that cannot be loaded: missing files, a bad config, mismatched weights."""


class OutputError(SentimentRNNError, OSError):
    """A file that could not be written, such as on a full disk. Writes are atomic, so the file's
    previous content (if any) is still there, and no partial file is left behind."""


class TrackingError(SentimentRNNError):
    """The tracking store cannot be reached, or a run, model or alias does not exist."""


class QueueFull(SentimentRNNError):
    """More texts are waiting than the service's queue allows."""
