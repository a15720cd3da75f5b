"""What a benchmark result depends on, recorded next to the numbers.

Matrix products dominate every case, so the BLAS library and the kernel it picked
(threadpoolctl's ``internal_api`` and ``architecture``: "openblas", "SkylakeX" means the
AVX-512 kernels, "Haswell" the AVX2 ones) matter most. ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` force that choice when set, so their values at run time are recorded
too.
"""
from __future__ import annotations

import datetime
import os
import platform
import re
import socket
import subprocess
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module_name: str):
    try:
        module = __import__(module_name)
    except Exception:  # not installed, or broken (cupy without a CUDA runtime)
        return None
    return getattr(module, "__version__", "unknown")


def blas_libraries() -> list:
    """The thread pools (BLAS, OpenMP) loaded in this process, as threadpoolctl reports
    them, or one entry saying threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl is not installed: pip install threadpoolctl"}]
    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
    return [{k: info.get(k) for k in keys if k in info} for info in threadpool_info()]


def numpy_blas(libraries: list) -> dict:
    """The entry of ``libraries`` that is NumPy's BLAS (the first BLAS that is not torch's)."""
    blas = [lib for lib in libraries if lib.get("user_api") == "blas"]
    return blas[0] if blas else {}


def git_revision() -> str:
    """The commit of the code being measured, with "+ uncommitted changes" when the working
    tree differs from it; "unknown" outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" + uncommitted changes" if dirty else "")


def gpu_name() -> str | None:
    try:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    except Exception:
        return None
    name = props.get("name", b"")
    return name.decode() if isinstance(name, bytes) else str(name)


def record(backend: str, torch=None) -> dict:
    """Everything a reader needs to judge or repeat a run, as a JSON-able dict."""
    versions = {name: _version(name) for name in ("numpy", "scipy", "torch", "cupy")}  # loads the BLAS
    libraries = blas_libraries()
    blas = numpy_blas(libraries)
    env = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "backend": backend,
        "git": git_revision(),
        "versions": versions,
        "blas": blas.get("internal_api"),
        "blas_version": blas.get("version"),
        "blas_kernel": blas.get("architecture"),
        "blas_threads": blas.get("num_threads"),
        "threadpools": libraries,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                               "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    if torch is not None:
        env["torch_threads"] = torch.get_num_threads()
        if backend == "cupy" and torch.cuda.is_available():
            env["torch_cuda_device"] = torch.cuda.get_device_name()
            env["torch_cudnn"] = torch.backends.cudnn.version()
            env["torch_cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
            env["torch_matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    if backend == "cupy":
        env["gpu"] = gpu_name()
    return env


def machine_slug(env: dict) -> str:
    """A short file-name-safe name of the machine a result came from: the GPU for the cupy
    backend, else the CPU model and core count."""
    if env.get("backend") == "cupy" and env.get("gpu"):
        name = env["gpu"]
    else:
        model = env["cpu_model"].split("@")[0]  # drop the clock: "... CPU @ 2.70GHz"
        model = re.sub(r"\((R|TM)\)|\b(CPU|Processor)\b", " ", model, flags=re.IGNORECASE)
        name = f"{model} {env['cpu_count']}cpu"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
