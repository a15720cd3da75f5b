"""Results as JSON (everything) and a markdown table (what a reader compares).

Files go to ``benchmarks/results/<machine>_<backend>_<date>.{json,md}`` (``_quick`` added
for ``--quick`` runs); an existing result is never overwritten: a ``-2``, ``-3``, ... is
added instead. Both files are written to a temporary name first and then renamed.
"""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.environment import machine_slug
from models.atomic import write_files_atomically

DEFAULT_DIR = Path(__file__).resolve().parent / "results"


def _ms(seconds):
    return f"{seconds * 1e3:.1f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


def _time_cell(timing):
    if not timing:
        return "-"
    return f"{_ms(timing['median'])} ms ± {_ms(timing['iqr'])}"


def _memory_cell(measure):
    if not measure:
        return "-"
    return f"{measure['bytes'] / 2**20:.0f} MiB"


def _gflops(result, side):
    timing = result.get(side)
    if not result.get("flops") or not timing:
        return None
    return result["flops"] / timing["median"] / 1e9


def rows(results) -> list:
    """One table row (a list of cells) per case result."""
    out = []
    for r in results:
        if "error" in r:
            out.append([r["name"], r.get("description", ""), f"error: {r['error']}", "", "", ""])
            continue
        if r["kind"] == "memory":
            ours, theirs = _memory_cell(r.get("minigrad")), _memory_cell(r.get("pytorch"))
            extra = r.get("minigrad_tracemalloc")
            note = f"{r['method']}" + (f"; NumPy tracemalloc {extra['bytes'] / 2**20:.0f} MiB" if extra else "")
        else:
            ours, theirs = _time_cell(r.get("minigrad")), _time_cell(r.get("pytorch"))
            g_ours, g_theirs = _gflops(r, "minigrad"), _gflops(r, "pytorch")
            note = "" if g_ours is None else f"{g_ours:.0f}" + (f" / {g_theirs:.0f} GFLOP/s" if g_theirs else " GFLOP/s")
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
        out.append([r["name"], r["description"], ours, theirs, ratio, note])
    return out


def markdown(run: dict) -> str:
    """The markdown report: where it ran, then the table."""
    env = run["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
    openblas = ", ".join(f"{k}={v}" for k, v in env["env"].items() if k.startswith("OPENBLAS") and v) or "unset"
    lines = [
        f"# minigrad benchmarks: {env['backend']} on {env.get('gpu') or env['cpu_model']}",
        "",
        f"- date: {env['date']}; {env['cpu_model']}, {env['cpu_count']} CPUs; {env['platform']}",
        f"- BLAS: {env['blas']} {env['blas_version']}, kernel {env['blas_kernel']}, "
        f"{env['blas_threads']} threads; torch threads: {env.get('torch_threads', '-')}; "
        f"OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: {openblas}",
        f"- versions: python {env['python']}, {versions}",
    ]
    if env.get("gpu"):
        lines.append(f"- GPU: {env['gpu']}; PyTorch TF32 in convolutions: {env.get('torch_cudnn_allow_tf32')}, "
                     f"in matmul: {env.get('torch_matmul_allow_tf32')}")
    lines += [
        f"- float32; median of {run['repeats']} runs after {run['warmup']} warm-up runs ({run['order']}), ± the "
        "inter-quartile range; ratio = minigrad / PyTorch (below 1: minigrad is faster or smaller)",
        f"- code: {env['git']}",
        "",
        "| case | what | minigrad | PyTorch | ratio | notes |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows(run["results"])]
    return "\n".join(lines) + "\n"


def write(run: dict, out_dir=None) -> tuple:
    """Write ``run`` as JSON and markdown into ``out_dir`` (default benchmarks/results/);
    return the two paths."""
    out_dir = Path(out_dir) if out_dir is not None else DEFAULT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    env = run["environment"]
    stem = f"{machine_slug(env)}_{env['backend']}_{env['date'][:10]}" + ("_quick" if run.get("quick") else "")
    candidate, n = stem, 1
    while (out_dir / f"{candidate}.json").exists() or (out_dir / f"{candidate}.md").exists():
        n += 1
        candidate = f"{stem}-{n}"
    json_path, md_path = out_dir / f"{candidate}.json", out_dir / f"{candidate}.md"
    write_files_atomically({json_path: (json.dumps(run, indent=2) + "\n").encode(),
                            md_path: markdown(run).encode()})
    return json_path, md_path
