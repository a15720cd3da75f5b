#!/usr/bin/env bash
# One check of the CuPy backend on a GPU machine, run from the repository root:
#
#     bash benchmarks/gpu_check.sh          # writes into $OUT (default ./gpu_check_out)
#
# Needs python3 with cupy, torch (CUDA), numpy, scipy, pillow, h5py, tqdm, pytest and hypothesis;
# the repository is used in place (PYTHONPATH=.), nothing is installed.
#
#   1. the machine: GPUs, versions, and a smoke test (conv -> relu -> pool forward and backward
#      on CuPy against NumPy)                                            -> $OUT/machine.log
#   2. the whole suite with MINIGRAD_BACKEND=cupy (tests build their tensors on the GPU), the
#      folders that exercise CuPy first, stopped after TEST_SECONDS (SIGINT: pytest still prints
#      its summary)                              -> $OUT/cupy_tests.log, $OUT/cupy_tests.xml
#   3. the benchmarks on CuPy next to PyTorch CUDA, 10 timed runs per case, in three groups
#      (VGG-16/AlexNet, single convolutions, the rest) so that running out of BENCH_SECONDS
#      loses at most one group's numbers              -> $OUT/bench.log, $OUT/results/*.{json,md}
#
# Always exits 0, so that every log comes back; the logs say what passed.
set -u

OUT=${OUT:-$PWD/gpu_check_out}
PY=${PYTHON:-python3}
TEST_SECONDS=${TEST_SECONDS:-170}
BENCH_SECONDS=${BENCH_SECONDS:-150}
mkdir -p "$OUT/results"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

# ---------------------------------------------------------------- 1. machine and smoke test
{
    echo "== machine ($(date -u +%FT%TZ), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    nvidia-smi -L || echo "nvidia-smi not found"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    "$PY" - <<'EOF'
import sys
import numpy as np

import cupy
import torch

print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cupy {cupy.__version__}, torch {torch.__version__} "
      f"(CUDA {torch.version.cuda}, available: {torch.cuda.is_available()})")
print(f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, driver {cupy.cuda.runtime.driverGetVersion()}, "
      f"device 0: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}")

import minigrad as mg
from minigrad import functional as F

rng = np.random.default_rng(0)
x = rng.standard_normal((2, 16, 64, 64)).astype(np.float32)
w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)


def run(backend):
    xt, wt = mg.Tensor(x, requires_grad=True, backend=backend), mg.Tensor(w, requires_grad=True, backend=backend)
    y = F.max_pool2d(F.relu(F.conv2d(xt, wt, padding=1)), 2)
    y.backward(np.ones(y.shape, np.float32))
    return y.numpy(), xt.backend.to_numpy(xt.grad), wt.backend.to_numpy(wt.grad)


try:
    for name, ours, ref in zip(("y", "dL/dx", "dL/dw"), run("cupy"), run("numpy")):
        print(f"smoke {name}: CuPy vs NumPy max |diff| / max |NumPy| = "
              f"{np.abs(ours - ref).max() / np.abs(ref).max():.2e}")
except Exception:  # the suite below says more; keep going
    import traceback
    traceback.print_exc()
EOF
} 2>&1 | tee "$OUT/machine.log"

# ---------------------------------------------------------------- 2. the suite on CuPy
first="tests/test_backends.py tests/ops tests/test_fft_conv.py tests/test_training.py tests/test_random_multiscale.py
       tests/test_models.py tests/visualize tests/test_mnist_cnn.py tests/test_hdf5_weights.py tests/convert"
rest=""
for f in tests/test_*.py; do
    case " $(echo $first) " in *" $f "*) ;; *) rest="$rest $f" ;; esac
done
echo "== pytest, MINIGRAD_BACKEND=cupy, at most ${TEST_SECONDS}s" | tee "$OUT/cupy_tests.log"
start=$SECONDS
# shellcheck disable=SC2086
MINIGRAD_BACKEND=cupy timeout -s INT -k 20 "$TEST_SECONDS" "$PY" -m pytest -q -p no:cacheprovider --tb=short \
    --maxfail=30 --durations=15 --junitxml="$OUT/cupy_tests.xml" $first $rest 2>&1 | tee -a "$OUT/cupy_tests.log"
status=${PIPESTATUS[0]}
echo "== pytest exit status $status after $((SECONDS - start))s (124: stopped at the time limit; 1: failures)" \
    | tee -a "$OUT/cupy_tests.log"

# ---------------------------------------------------------------- 3. benchmarks on CuPy
names=$("$PY" -m benchmarks --list 2>>"$OUT/bench.log" | awk '{print $1}')
big=$(echo "$names" | grep -E '^(vgg16_forward|alexnet_)' | paste -sd, -)
convs=$(echo "$names" | grep -E '^conv2d_' | paste -sd, -)
others=$(echo "$names" | grep -v -E '^(vgg16_forward|alexnet_|conv2d_)' | paste -sd, -)
deadline=$((SECONDS + BENCH_SECONDS))
for group in "$big" "$convs" "$others"; do
    [ -n "$group" ] || continue
    left=$((deadline - SECONDS))
    if [ "$left" -lt 15 ]; then
        echo "== benchmarks: no time left for $group" | tee -a "$OUT/bench.log"
        continue
    fi
    echo "== benchmarks --backend cupy --cases $group (at most ${left}s)" | tee -a "$OUT/bench.log"
    timeout -s INT -k 10 "$left" "$PY" -m benchmarks --backend cupy --repeats 10 --cases "$group" \
        --out "$OUT/results" >>"$OUT/bench.log" 2>&1
    echo "== exit status $?" | tee -a "$OUT/bench.log"
done

# ---------------------------------------------------------------- summary (the tail of this output)
echo "== test summary"
grep -E "^(FAILED|ERROR) |passed|failed|error|Interrupted|KeyboardInterrupt" "$OUT/cupy_tests.log" | tail -40
echo "== benchmark tables"
cat "$OUT"/results/*.md 2>/dev/null | grep -E "^\| |^# |^- (GPU|versions)" || echo "no benchmark results"
grep -E "failed:|Error|error" "$OUT/bench.log" | tail -10
echo "== files"
ls -l "$OUT" "$OUT/results"
exit 0
