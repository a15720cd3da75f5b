"""Peak resident memory of one side of one case, measured in a fresh process.

    python -m benchmarks.memory_probe vgg16_forward_backward minigrad

A fresh process per measurement keeps what earlier cases left in the allocators out of
the number. The probe prepares the case as the timing run does (PyTorch is imported and its
copy of the network built only by the pytorch probe), then measures forward + backward of
the requested side with :func:`benchmarks.harness.rss_peak` (the steady state after
warm-up passes) and prints ``{"bytes": ...}`` as the last line of its output.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks import harness
from benchmarks.cases import ALL_CASES, PROJECT, REFERENCE, Context, load_torch


def measure_in_subprocesses(case_name: str, sides, warmup: int, repeats: int) -> dict:
    """Run this module once per side, in new interpreters side by side; {side: bytes}."""
    probes = {side: subprocess.Popen([sys.executable, "-m", "benchmarks.memory_probe", case_name, side,
                                      "--warmup", str(warmup), "--repeats", str(repeats)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for side in sides}
    measured = {}
    for side, probe in probes.items():
        out, err = probe.communicate()
        if probe.returncode != 0:
            raise RuntimeError(f"memory probe for {case_name} ({side}) failed: {err.strip()[-2000:]}")
        measured[side] = json.loads(out.strip().splitlines()[-1])["bytes"]
    return measured


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=sorted(ALL_CASES))
    parser.add_argument("side", choices=(PROJECT, REFERENCE))
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch = load_torch() if args.side == REFERENCE else None  # the minigrad side does not need it
    if args.side == REFERENCE and torch is None:
        parser.error("the pytorch side needs torch, which is not installed")
    workloads, _ = ALL_CASES[args.case].prepare(Context("numpy", torch))
    print(json.dumps({"bytes": harness.rss_peak(workloads[args.side], args.warmup, args.repeats)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
