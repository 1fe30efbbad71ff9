"""Exceptions raised by the engine; every one derives from :class:`EngineError`."""


class EngineError(Exception):
    """Base class of all engine errors."""


class ConfigError(EngineError):
    """The BMv2 JSON is malformed or uses something the engine does not support."""


class NotFoundError(EngineError):
    """A named object (table, action, extern, entry handle, member, group...) does not exist."""


class AlreadyExistsError(EngineError):
    """An entry with the same key (and priority) is already installed."""


class InvalidEntryError(EngineError):
    """A table entry, default action or extern operation is not acceptable for the program."""
