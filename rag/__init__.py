"""Local question answering over news articles, with citations that are exact slices of the text."""

__version__ = "0.1.0"
