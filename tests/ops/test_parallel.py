"""The passes split over channels on several threads give the same bytes as one thread, and
fast paths switched off start no thread."""
import numpy as np
import pytest

import minigrad
import minigrad.kernels.im2col as threaded
import minigrad.kernels.parallel as parallel
from minigrad import functional as F
from minigrad import Tensor
from minigrad.functional import im2col as reference


def _run(monkeypatch, threads, fn, x, g):
    monkeypatch.setattr(parallel, "THREADS", threads)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)      # split even these small arrays
    with minigrad.fast_paths(True):
        t = Tensor(x, requires_grad=True)
        y = fn(t)
        y.backward(g(y.shape))
    return y.numpy(), t.grad


def _inputs(seed, shape, ties):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if ties:  # few distinct values: tied windows must go to the first maximum on every path
        x = np.round(x)
    x.flat[::17] = np.nan if ties else x.flat[::17]
    return x.astype(np.float32), lambda s: rng.standard_normal(s).astype(np.float32)


@pytest.mark.parametrize("mode", ["normal", "guided", "deconvnet"])
@pytest.mark.parametrize("channels", [1, 3, 8])
def test_relu_threads_match_one_thread(monkeypatch, mode, channels):
    results = []
    for threads in (1, 2, 3):
        x, g = _inputs(channels, (2, channels, 5, 7), ties=False)
        with F.relu_mode(mode):
            results.append(_run(monkeypatch, threads, F.relu, x, g))
    for y, gx in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(gx, results[0][1])


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 3, 1), (3, 2, 1), (2, 3, 0)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_threads_match_one_thread(monkeypatch, kernel, stride, padding, ties):
    results = []
    for threads in (1, 2):
        x, g = _inputs(kernel, (2, 5, 9, 8), ties)
        results.append(_run(monkeypatch, threads, lambda t: F.max_pool2d(t, kernel, stride, padding), x, g))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])


@minigrad.fast_paths(True)
def test_small_arrays_are_not_split(monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "THREADS", 2)
    parallel.parallel_over_channels(lambda a: calls.append(a.shape), np.zeros((1, 4, 2, 2)))
    assert calls == [(1, 4, 2, 2)]
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)
    calls.clear()
    parallel.parallel_over_channels(lambda a: calls.append(a.shape), np.zeros((1, 4, 2, 2)))
    assert sorted(calls) == [(1, 2, 2, 2), (1, 2, 2, 2)]


def test_switched_off_runs_one_call(monkeypatch):
    """minigrad.fast_paths(False) turns the threads off: even a split-everything setting makes one call."""
    monkeypatch.setattr(parallel, "THREADS", 2)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)
    calls = []
    with minigrad.fast_paths(False):
        parallel.parallel_over_channels(lambda a: calls.append(a.shape), np.zeros((1, 4, 2, 2)))
    assert calls == [(1, 4, 2, 2)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", [
    ((2, 5, 9, 11), (3, 2), (1, 1), (1, 1), (1, 1)),
    ((2, 5, 9, 11), (3, 2), (2, 3), (0, 2), (2, 1)),
    ((4, 3, 10, 10), (5, 5), (2, 2), (2, 2), (1, 1)),     # batch longer than channels: split over the batch
])
@minigrad.fast_paths(True)
def test_threaded_im2col_col2im_equal_the_reference(monkeypatch, threads, shape, kernel, stride, padding, dilation):
    monkeypatch.setattr(parallel, "THREADS", threads)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    cols = threaded.im2col(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(cols, reference.im2col(x, kernel, stride, padding, dilation))
    np.testing.assert_array_equal(threaded.col2im(cols * 1.5, x.shape, stride, padding, dilation),
                                  reference.col2im(cols * 1.5, x.shape, stride, padding, dilation))


def test_batch_axis_split(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", 2)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)
    calls = []
    with minigrad.fast_paths(True):
        parallel.parallel_over_channels(lambda a: calls.append(a.shape), np.zeros((4, 3, 2)), axis=0)
    assert sorted(calls) == [(2, 3, 2), (2, 3, 2)]
