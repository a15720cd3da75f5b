"""The CuPy backend: the same array code on an NVIDIA GPU.

Importing this module does not import CuPy; creating :class:`CupyBackend` does, and
raises :class:`BackendUnavailable` saying whether CuPy is missing or no GPU is visible.
"""
from __future__ import annotations

from backends.base import Backend, BackendUnavailable


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self):
        try:
            import cupy
            import cupyx.scipy.ndimage
        except ImportError as exc:
            raise BackendUnavailable(
                "the 'cupy' backend needs CuPy, which is not installed: "
                "pip install 'minigrad[cuda12]' (CUDA 12) or 'minigrad[cuda13]' (CUDA 13), "
                f"or use the 'numpy' backend ({exc})") from exc
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise BackendUnavailable(
                f"CuPy is installed but no CUDA GPU can be used here ({exc}); "
                "use the 'numpy' backend on this machine") from exc
        if count < 1:
            raise BackendUnavailable("CuPy is installed but no CUDA GPU is visible; use the 'numpy' backend")
        self.xp = cupy
        self.ndimage = cupyx.scipy.ndimage

    def asarray(self, data, dtype=None):
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        if type(array).__module__.startswith("cupy"):
            return array.get()
        import numpy
        return numpy.asarray(array)

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()
