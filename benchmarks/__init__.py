"""The speed and memory suite: minigrad next to PyTorch, same weights, same process.

``python -m benchmarks`` (or ``make bench``) runs every case and writes JSON and a markdown
table to ``benchmarks/results/``. Modules:

* :mod:`benchmarks.harness`      timing (warm-up, repeats, median and IQR) and peak memory
* :mod:`benchmarks.environment`  what the numbers depend on (BLAS and its kernel, threads, CPU, versions)
* :mod:`benchmarks.cases`        the cases, and the PyTorch copy of a minigrad network
* :mod:`benchmarks.memory_probe` peak RSS of one side of one case, in a fresh process
* :mod:`benchmarks.report`       the JSON and markdown files
* :mod:`benchmarks.cli`          the command line
"""
