"""out = a @ b  or  out += a @ b, straight into ``out``, for 2-D operands given as views.

``numpy.matmul`` computes C = A B only; the accumulating form C = A B + C, which BLAS's
GEMM offers for free (its ``beta`` argument), then costs a temporary and an extra pass over
C. The shifted-view convolution sums kh*kw products into one output, so for NumPy float32 /
float64 arrays this module calls the ``cblas_?gemm`` of the OpenBLAS that NumPy's wheels
ship (found with ctypes), passing the views' strides as leading dimensions, so nothing is
copied. Anywhere else (CuPy, other dtypes, a NumPy without that library) it falls back to
``matmul`` and ``+=``, with the same result.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

from backends import get_array_module

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _load_cblas():
    """{dtype: gemm function} from NumPy's bundled scipy-openblas (ILP64), or {}."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    candidates = glob.glob(os.path.join(root, "numpy.libs", "libscipy_openblas64_*"))
    candidates += glob.glob(os.path.join(os.path.dirname(np.__file__), ".dylibs", "libscipy_openblas64_*"))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            functions = {np.dtype(np.float32): (lib.scipy_cblas_sgemm64_, ctypes.c_float),
                         np.dtype(np.float64): (lib.scipy_cblas_dgemm64_, ctypes.c_double)}
        except (OSError, AttributeError):
            continue
        for function, scalar in functions.values():
            integer, pointer = ctypes.c_int64, ctypes.c_void_p
            function.restype = None
            function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, scalar,
                                 pointer, integer, pointer, integer, scalar, pointer, integer]
        return functions
    return {}


_CBLAS = _load_cblas()


def _layout(a):
    """(transpose flag, leading dimension) of a 2-D view with one unit stride, or None."""
    item = a.itemsize
    rows, cols = a.shape
    if a.strides[1] == item and a.strides[0] % item == 0 and a.strides[0] // item >= max(1, cols):
        return _NO_TRANS, a.strides[0] // item
    if a.strides[0] == item and a.strides[1] % item == 0 and a.strides[1] // item >= max(1, rows):
        return _TRANS, a.strides[1] // item
    return None


def gemm(a, b, out, accumulate: bool) -> None:
    """out = a @ b (accumulate=False) or out += a @ b (accumulate=True); a (M, K), b (K, N),
    out (M, N) a writable view with unit column stride."""
    function = _CBLAS.get(out.dtype) if get_array_module(out) is np else None
    layouts = (_layout(a), _layout(b), _layout(out)) if function is not None else (None,)
    if function is None or None in layouts or layouts[2][0] != _NO_TRANS or not a.dtype == b.dtype == out.dtype:
        if accumulate:
            out += a @ b
        else:
            get_array_module(out).matmul(a, b, out=out)
        return
    (trans_a, lda), (trans_b, ldb), (_, ldc) = layouts
    gemm_, scalar = function
    gemm_(_ROW_MAJOR, trans_a, trans_b, out.shape[0], out.shape[1], a.shape[1], scalar(1.0),
          a.ctypes.data, lda, b.ctypes.data, ldb, scalar(1.0 if accumulate else 0.0), out.ctypes.data, ldc)
