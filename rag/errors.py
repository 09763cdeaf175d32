"""The library's errors. Every message says what went wrong and what to do about it.

Callers (the CLI, the page) catch `RagError` and show its message; anything else is a bug.
"""


class RagError(Exception):
    """Base class: a problem the user can fix, described in words the user can act on."""


class ConfigError(RagError):
    """A setting has an invalid value."""


class ArticleError(RagError):
    """One article file cannot be read or has no text. Syncs skip it and go on."""


class ModelError(RagError):
    """The embedding model cannot be found or loaded."""


class IndexMissingError(RagError):
    """There is no index yet where one was expected."""


class IndexDamagedError(RagError):
    """A local index is there but Chroma cannot read it (a damaged file, another Chroma
    version's format). The articles are not in it: it is rebuilt from them. (A Chroma server's
    errors are plain RagErrors: an index others may share is never offered for a rebuild.)"""


class LLMError(RagError):
    """The chat model could not be reached or answered badly."""
