"""``python -m benchmarks``: time minigrad next to PyTorch and write the results.

    python -m benchmarks                       # every case, NumPy backend
    python -m benchmarks --cases 'conv2d_*'    # a subset (shell patterns, comma-separated)
    python -m benchmarks --backend cupy        # the GPU, next to PyTorch CUDA on the same card
    python -m benchmarks --quick --cases 'tiny_*' --out /tmp/bench   # the smoke test
"""
from __future__ import annotations

import argparse
import sys
import traceback

import backends
from benchmarks import cases as cases_module
from benchmarks import environment, harness, report
from benchmarks.cases import PROJECT, REFERENCE, Context, load_torch
from benchmarks.memory_probe import measure_in_subprocesses

#: (warm-up runs, timed runs) by default and with --quick
DEFAULT_REPEATS, QUICK_REPEATS = (2, 10), (1, 3)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time minigrad next to PyTorch (same process, same weights, float32) and write "
                    "benchmarks/results/<machine>_<backend>_<date>.{json,md}.")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                        help="minigrad backend; cupy is compared to PyTorch CUDA on the same GPU (default numpy)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REPEATS[0]} warm-up and {QUICK_REPEATS[1]} timed runs (for tests, not for numbers)")
    parser.add_argument("--cases", default="",
                        help="comma-separated case names or shell patterns (default: every case but the tiny_* "
                             "test cases); see --list")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case (default "
                        f"{DEFAULT_REPEATS[1]}, {QUICK_REPEATS[1]} with --quick)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs before timing (default "
                        f"{DEFAULT_REPEATS[0]}, {QUICK_REPEATS[0]} with --quick)")
    parser.add_argument("--order", choices=("interleaved", "blocked"), default="interleaved",
                        help="interleaved: minigrad and PyTorch runs alternate (fair under changing load; the "
                             "default); blocked: each framework's runs in one block, as it would run alone")
    parser.add_argument("--out", default=None, help="folder for the JSON and markdown results "
                        "(default benchmarks/results/)")
    parser.add_argument("--no-torch", action="store_true", help="time minigrad alone, even if torch is installed")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    warmup, repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    args.warmup = warmup if args.warmup is None else args.warmup
    args.repeats = repeats if args.repeats is None else args.repeats
    if args.repeats < 1 or args.warmup < 0:
        parser.error(f"--repeats must be >= 1 and --warmup >= 0, got {args.repeats} and {args.warmup}")
    return args


def _measure_memory(case, ctx, args) -> dict:
    """Peak memory of the workloads of ``case.of``: see :mod:`benchmarks.harness`."""
    base = cases_module.ALL_CASES[case.of]
    result = {}
    if ctx.backend.name == "cupy":
        workloads, details = base.prepare(ctx)
        result["method"] = "GPU allocator peak (CuPy memory hook / torch.cuda.max_memory_allocated)"
        result[PROJECT] = {"bytes": harness.cupy_peak(workloads[PROJECT])}
        if REFERENCE in workloads:
            result[REFERENCE] = {"bytes": harness.torch_cuda_peak(workloads[REFERENCE], ctx.torch)}
        return result | {"details": details}
    workloads, details = base.prepare(ctx)
    result["method"] = "peak RSS growth, fresh process each"
    result["minigrad_tracemalloc"] = {"bytes": harness.tracemalloc_peak(workloads[PROJECT])}
    del workloads
    sides = (PROJECT, REFERENCE) if ctx.has_reference else (PROJECT,)
    measured = measure_in_subprocesses(case.of, sides, max(1, args.warmup), min(3, args.repeats))
    result.update({side: {"bytes": n} for side, n in measured.items()})
    return result | {"details": details}


def run_case(case, ctx, args) -> dict:
    """Measure one case; an exception becomes an "error" entry (the other cases still run)."""
    result = {"name": case.name, "description": case.description, "kind": case.kind, "info": case.info}
    try:
        if case.kind == "memory":
            result.update(_measure_memory(case, ctx, args))
            value = lambda side: result[side]["bytes"]  # noqa: E731
        else:
            workloads, details = case.prepare(ctx)
            timings = harness.compare(workloads, args.warmup, args.repeats, args.order == "interleaved")
            result.update({side: t.to_dict() for side, t in timings.items()}, details=details, flops=case.flops)
            value = lambda side: result[side]["median"]  # noqa: E731
        if REFERENCE in result and value(REFERENCE) > 0:
            result["ratio"] = value(PROJECT) / value(REFERENCE)
    except Exception as exc:  # one broken case must not lose the others' results
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        selected = cases_module.select(args.cases)
    except ValueError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for case in selected:
            print(f"{case.name:40s} {case.description}")
        return 0
    try:
        backends.get(args.backend)
    except backends.BackendUnavailable as exc:
        print(f"benchmarks: --backend {args.backend} cannot run here: {exc}", file=sys.stderr)
        return 2
    torch = None if args.no_torch else load_torch()
    ctx = Context(args.backend, torch)
    if torch is None:
        print("benchmarks: torch is not installed (or --no-torch): timing minigrad alone", file=sys.stderr)
    elif not ctx.has_reference:
        print("benchmarks: torch has no CUDA here: timing the CuPy backend alone", file=sys.stderr)

    run = {"environment": environment.record(args.backend, torch), "quick": args.quick,
           "warmup": args.warmup, "repeats": args.repeats, "order": args.order, "results": []}
    for case in selected:
        print(f"benchmarks: {case.name} ...", file=sys.stderr, flush=True)
        run["results"].append(run_case(case, ctx, args))
        if "error" in run["results"][-1]:
            print(f"benchmarks: {case.name} failed: {run['results'][-1]['error']}", file=sys.stderr)
    json_path, md_path = report.write(run, args.out)
    print(report.markdown(run))
    print(f"wrote {json_path} and {md_path}")
    return 1 if any("error" in r for r in run["results"]) else 0
