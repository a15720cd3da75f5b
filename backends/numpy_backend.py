"""The NumPy backend: the reference, and what runs everywhere."""
from __future__ import annotations

import numpy
import scipy.ndimage

from backends.base import Backend


class NumpyBackend(Backend):
    name = "numpy"
    xp = numpy
    ndimage = scipy.ndimage

    def asarray(self, data, dtype=None):
        if type(data).__module__.startswith("cupy"):
            data = data.get()
        return numpy.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return self.asarray(array)
