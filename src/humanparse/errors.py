"""Exceptions raised by humanparse. All derive from :class:`HumanParseError`."""


class HumanParseError(Exception):
    """Base class of every error humanparse raises on purpose."""


class ImageError(HumanParseError, ValueError):
    """An input image cannot be used: unreadable, corrupt, truncated, not an image, or too large."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class BackendUnavailableError(HumanParseError, RuntimeError):
    """A backend cannot run here: an optional dependency is missing or the name is unknown."""


class WeightsNotFoundError(HumanParseError, FileNotFoundError):
    """Model weights are neither cached nor downloadable (e.g. offline); the message says how to get them."""
