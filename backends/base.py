"""The interface every array backend implements."""
from __future__ import annotations


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run on this machine (the message says why and what to do)."""


class Backend:
    """What the engine needs from an array library.

    Attributes
    ----------
    name:     "numpy" or "cupy"
    xp:       the array module
    ndimage:  ``scipy.ndimage`` or ``cupyx.scipy.ndimage``
    """

    name: str = "abstract"
    xp = None
    ndimage = None

    def rng(self, seed=None):
        """A seeded random generator on this device (``xp.random.default_rng(seed)``)."""
        return self.xp.random.default_rng(seed)

    def asarray(self, data, dtype=None):
        """Put ``data`` (a list, NumPy or CuPy array) on this device."""
        raise NotImplementedError

    def to_numpy(self, array):
        """Copy ``array`` to a NumPy array on the host."""
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait for queued device work to finish (a no-op on the CPU); used by timers."""

    def __repr__(self) -> str:
        return f"<backend {self.name}>"
