"""Timing and memory measurement, the same way for minigrad and for PyTorch.

Timing
    Each workload is a pair of callables, ``setup() -> state`` (not timed) and
    ``run(state)`` (timed). After ``warmup`` untimed runs, ``repeats`` runs are timed with
    ``time.perf_counter``; the device is synchronized (``Backend.synchronize()``,
    ``torch.cuda.synchronize()``) before the clock is read at both ends, so GPU times are
    the time the work took and not the time it took to queue it. By default the two
    frameworks' repeats are interleaved (project, PyTorch, PyTorch, project, ...) so that a
    change in machine load during the run affects both alike; ``--order blocked`` runs each
    framework's repeats in one block instead, as it would run alone (on an H200 neither
    order was consistently faster, but minigrad's GPU times varied up to 1.8x between
    consecutive runs of the suite, so run it twice there). We report the median and the
    inter-quartile range (IQR, 75th minus 25th percentile) of the repeats.

Peak memory, CPU
    The ratio compares the peak *resident set size* (RSS) growth of one forward + backward
    pass, measured the same way for both frameworks in a fresh subprocess each (see
    :mod:`benchmarks.memory_probe` and :func:`rss_peak`): after warm-up passes, the C heap
    is trimmed, the kernel's high-water mark is reset through ``/proc/self/clear_refs``,
    and ``VmHWM - VmRSS`` (before) is what the pass added. For NumPy we also
    report :mod:`tracemalloc`'s peak (NumPy registers its array buffers with tracemalloc),
    which counts the bytes the arrays asked for, without allocator overhead; PyTorch's CPU
    allocator is invisible to tracemalloc, so that column has no PyTorch counterpart.

Peak memory, GPU
    PyTorch: ``torch.cuda.max_memory_allocated()`` minus the memory allocated before the
    pass. CuPy: a :class:`cupy.cuda.MemoryHook` adds up every allocation and free of the
    pass and keeps the maximum, which counts the same thing (bytes handed out by the
    framework's caching allocator, rounded to its block sizes).
"""
from __future__ import annotations

import ctypes
import gc
import statistics
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any, Callable


@dataclass
class Workload:
    """What one framework runs for a case: ``run(setup())`` is timed, ``setup()`` is not.
    ``synchronize`` waits for queued device work (a no-op on the CPU)."""

    run: Callable[[Any], Any]
    setup: Callable[[], Any] = lambda: None
    synchronize: Callable[[], None] = lambda: None


@dataclass
class Timing:
    """Seconds per run: median, quartiles and every sample."""

    median: float
    q1: float
    q3: float
    samples: list

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @classmethod
    def from_samples(cls, samples) -> "Timing":
        samples = list(samples)
        if len(samples) == 1:
            return cls(samples[0], samples[0], samples[0], samples)
        q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
        return cls(median, q1, q3, samples)

    def to_dict(self) -> dict:
        return dict(asdict(self), iqr=self.iqr)


def time_once(workload: Workload) -> float:
    """Seconds one run of ``workload`` takes, its setup excluded."""
    state = workload.setup()
    workload.synchronize()
    start = time.perf_counter()
    workload.run(state)
    workload.synchronize()
    elapsed = time.perf_counter() - start
    del state
    return elapsed


def compare(workloads: dict, warmup: int, repeats: int, interleave: bool = True) -> dict:
    """Time each named workload ``repeats`` times after ``warmup`` untimed runs.

    Interleaved (the default), the workloads take turns, in an order that alternates from
    one repeat to the next, so slow drifts in machine load are shared fairly. Otherwise
    each workload runs all its warm-up and timed runs in one block, as it would alone.
    Returns {name: Timing}.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"compare: need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    names = list(workloads)
    samples = {name: [] for name in names}
    if interleave:
        for _ in range(warmup):
            for name in names:
                time_once(workloads[name])
        for i in range(repeats):
            for name in (names if i % 2 == 0 else names[::-1]):
                samples[name].append(time_once(workloads[name]))
    else:
        for name in names:
            for _ in range(warmup):
                time_once(workloads[name])
            samples[name] = [time_once(workloads[name]) for _ in range(repeats)]
    gc.collect()
    return {name: Timing.from_samples(s) for name, s in samples.items()}


# --------------------------------------------------------------------------- memory
def tracemalloc_peak(workload: Workload) -> int:
    """Bytes the run allocated at its peak beyond what was live before it, as seen by
    :mod:`tracemalloc` (NumPy array buffers are traced; PyTorch's are not)."""
    state = workload.setup()
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        workload.run(state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak - before


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field} line")


def _release_free_heap() -> None:
    """Give memory that the C allocator keeps after ``free`` back to the kernel (glibc's
    ``malloc_trim``; nothing elsewhere), so a run's RSS growth is what the run needs."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_peak(workload: Workload, warmup: int = 1, repeats: int = 3) -> int:
    """Bytes of resident memory a run adds at its peak, in the steady state of a loop that
    repeats it (as an optimization or a style transfer does): after ``warmup`` runs, each
    of ``repeats`` runs starts from collected garbage and a trimmed C heap, the kernel's
    peak-RSS mark (VmHWM) is reset through /proc/self/clear_refs, and VmHWM minus VmRSS
    before the run is taken. Returns the median over the repeats.

    The warm-up keeps one-time costs (thread pools, kernel code generated on first use)
    out of the number. Raises OSError where the kernel does not offer this (not Linux).
    """
    for _ in range(warmup):
        workload.run(workload.setup())
    grown = []
    for _ in range(repeats):
        state = workload.setup()
        gc.collect()
        _release_free_heap()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # "5": reset the peak RSS (VmHWM) to the current RSS
        before = _proc_status_kib("VmRSS")
        workload.run(state)
        grown.append((_proc_status_kib("VmHWM") - before) * 1024)
        del state
    return int(statistics.median(grown))


def torch_cuda_peak(workload: Workload, torch) -> int:
    """Bytes PyTorch's CUDA caching allocator handed out at the peak of the run, beyond
    what was allocated before it."""
    state = workload.setup()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    workload.run(state)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def cupy_peak(workload: Workload) -> int:
    """Bytes CuPy's memory pool handed out at the peak of the run, beyond what was in use
    before it, counted by a memory hook on every allocation and free."""
    import cupy

    class PeakHook(cupy.cuda.MemoryHook):
        name = "minigrad_benchmarks_peak"

        def __init__(self):
            self.current = 0
            self.peak = 0

        def malloc_postprocess(self, **info):  # a block handed out by the pool
            self.current += info["mem_size"]
            self.peak = max(self.peak, self.current)

        def free_postprocess(self, **info):  # a block given back to the pool
            self.current -= info["mem_size"]

    state = workload.setup()
    workload.synchronize()
    hook = PeakHook()
    with hook:
        workload.run(state)
        workload.synchronize()
    return hook.peak
