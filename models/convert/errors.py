"""Errors raised while reading a foreign checkpoint.

* :class:`ConversionError` -- the source file is damaged, truncated, of an unsupported kind,
  or does not match the requested architecture. The message names the file and the fix.
* :class:`UnsafeCheckpointError` -- the file asks the unpickler for something a state dict
  never needs (a global such as ``os.system``, an object-building opcode, a zip entry outside
  the archive). Nothing from the file has run when it is raised.
"""


class ConversionError(ValueError):
    """A source checkpoint cannot be converted; the message says why and what to do."""


class UnsafeCheckpointError(ConversionError):
    """A checkpoint asked for code or paths that a plain state dict never needs."""
