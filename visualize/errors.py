"""The error a user's mistake becomes on the command line.

:class:`UserError` is raised wherever the user's input enters (an option, a file, a model
name) and printed by :func:`visualize.cli.main` as one line, ``minigrad COMMAND: error: ...``,
with exit status 2. It lives in its own module so that every layer of :mod:`visualize` can
raise it without importing the command line.
"""
from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A mistake in the command's input: printed as one line, exit status 2."""
