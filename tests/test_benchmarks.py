"""The benchmark suite runs end to end on tiny cases and writes its records.

Timings are never asserted: they depend on the machine and its load. What is asserted is
that the suite runs, that the PyTorch copy of a network computes what the network does,
that the files hold the environment record, and that the CuPy path refuses cleanly where
it cannot run.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import backends
import minigrad
from benchmarks import cases, cli, harness, report
from benchmarks.environment import machine_slug, record

SMOKE_CASES = "tiny_forward,tiny_style_relu2_24,tiny_conv2d_*_backward,tiny_peak_memory"


def _run(tmp_path, *extra):
    return cli.main(["--quick", "--out", str(tmp_path), *extra])


def test_quick_run_end_to_end_writes_json_and_markdown(tmp_path, torch, capsys):
    assert _run(tmp_path, "--cases", SMOKE_CASES) == 0
    (json_path,) = tmp_path.glob("*.json")
    (md_path,) = tmp_path.glob("*.md")
    run = json.loads(json_path.read_text())
    env = run["environment"]
    assert json_path.stem == md_path.stem == f"{machine_slug(env)}_numpy_{env['date'][:10]}_quick"
    assert env["backend"] == "numpy" and env["cpu_count"] >= 1 and env["cpu_model"]
    assert env["versions"]["numpy"] == np.__version__ and env["versions"]["torch"] == torch.__version__
    assert env["blas"] and env["blas_threads"] >= 1
    assert set(env["env"]) >= {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    assert env["torch_threads"] == env["blas_threads"]
    assert env["git"] and env["git"] in md_path.read_text()

    results = {r["name"]: r for r in run["results"]}
    assert set(results) == {"tiny_forward", "tiny_style_relu2_24", "tiny_conv2d_8x16_12_backward", "tiny_peak_memory"}
    for name in ("tiny_forward", "tiny_style_relu2_24", "tiny_conv2d_8x16_12_backward"):
        r = results[name]
        assert "error" not in r, r.get("traceback")
        for side in ("minigrad", "pytorch"):
            assert len(r[side]["samples"]) == run["repeats"] == cli.QUICK_REPEATS[1]
            assert r[side]["q1"] <= r[side]["median"] <= r[side]["q3"]
        assert r["ratio"] == pytest.approx(r["minigrad"]["median"] / r["pytorch"]["median"])
        assert r["details"]["max_rel_difference"] <= cases.AGREEMENT_TOLERANCE
        if name != "tiny_forward":
            details = r["details"]
            assert details["input_grad_rel_error"] <= (cases.GRADIENT_MARGIN * details["pytorch_input_grad_rel_error"]
                                                       + cases.GRADIENT_FLOOR)
    memory = results["tiny_peak_memory"]
    assert "error" not in memory, memory.get("traceback")
    assert memory["minigrad"]["bytes"] >= 0 and memory["pytorch"]["bytes"] >= 0
    assert memory["minigrad_tracemalloc"]["bytes"] > 0

    markdown = md_path.read_text()
    assert env["cpu_model"] in markdown and f"kernel {env['blas_kernel']}" in markdown
    for name in results:
        assert f"| {name} |" in markdown
    assert markdown in capsys.readouterr().out


def test_a_second_run_does_not_overwrite_the_first(tmp_path):
    for _ in range(2):
        assert _run(tmp_path, "--cases", "tiny_conv2d_*_forward", "--no-torch", "--repeats", "1") == 0
    stems = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert len(stems) == 2 and stems[1] == stems[0] + "-2"
    run = json.loads((tmp_path / f"{stems[0]}.json").read_text())
    (result,) = run["results"]
    assert "pytorch" not in result and "ratio" not in result
    assert "| - |" in (tmp_path / f"{stems[0]}.md").read_text()


def test_torch_copy_matches_the_network_forward_and_input_gradient(torch):
    net = cases.tiny_cnn().eval().requires_grad_(False)
    model = cases.torch_copy(net, torch, "cpu")
    x = np.random.default_rng(3).standard_normal((2, 3, 16, 16)).astype(np.float32)
    ours = minigrad.Tensor(x, requires_grad=True, backend=net.parameters()[0].backend)
    y = net(ours)
    y.backward(np.ones(y.shape, np.float32))
    theirs = torch.from_numpy(x).requires_grad_(True)
    z = model(theirs)
    z.backward(torch.ones_like(z))
    np.testing.assert_allclose(y.numpy(), z.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.backend.to_numpy(ours.grad), theirs.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert not any(p.requires_grad for p in model.parameters()) and not model.training


def test_a_wrong_reference_is_refused(torch):
    with pytest.raises(RuntimeError, match="differ by"):
        cases._check_agreement("case", np.ones((2, 2), np.float32), torch.zeros(2, 2))


def test_an_input_gradient_is_judged_against_float64_by_the_reference_spread(torch):
    exact = np.ones((4, 4))
    reference = torch.from_numpy(exact + 1e-2).float()          # PyTorch's float32: 1e-2 off
    result = cases._check_gradient("case", (exact + 2e-2).astype(np.float32), reference, exact)
    assert result["input_grad_rel_error"] == pytest.approx(2e-2, rel=1e-5)
    assert result["pytorch_input_grad_rel_error"] == pytest.approx(1e-2, rel=1e-5)
    with pytest.raises(RuntimeError, match="from PyTorch's float64 one"):
        cases._check_gradient("case", (exact + 4e-2).astype(np.float32), reference, exact)
    with pytest.raises(RuntimeError, match="from PyTorch's float64 one"):  # the floor when PyTorch is exact
        cases._check_gradient("case", (exact + 1e-3).astype(np.float32), torch.from_numpy(exact).float(), exact)


def test_a_failing_case_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    def broken():
        raise RuntimeError("no such network here")
    monkeypatch.setitem(cases.NETWORKS, "tiny", broken)
    assert _run(tmp_path, "--cases", "tiny_forward,tiny_conv2d_*_forward", "--no-torch", "--repeats", "1") == 1
    (json_path,) = tmp_path.glob("*.json")
    forward, conv = json.loads(json_path.read_text())["results"]
    assert "no such network here" in forward["error"] and "error" not in conv
    assert "error: RuntimeError: no such network here" in json_path.with_suffix(".md").read_text()


def test_cupy_backend_fails_cleanly_without_a_gpu(tmp_path, capsys):
    if backends.available("cupy"):
        pytest.skip("a GPU is present: the CuPy path runs instead of failing")
    assert _run(tmp_path, "--backend", "cupy", "--cases", "tiny_forward") == 2
    err = capsys.readouterr().err
    assert "--backend cupy cannot run here" in err and "numpy" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--cases", "no_such_case"], "no case matches 'no_such_case'"),
    (["--repeats", "0"], "--repeats must be >= 1"),
    (["--backend", "tpu"], "invalid choice: 'tpu'"),
])
def test_bad_arguments_are_refused_with_a_message(argv, message, capsys):
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse errors
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err


def test_default_selection_is_the_issue_suite_without_tiny_cases():
    names = [c.name for c in cases.select("")]
    assert not any(n.startswith("tiny") for n in names)
    assert {"vgg16_forward", "vgg16_forward_backward", "vgg16_style_relu5_1_512", "vgg16_peak_memory",
            "alexnet_forward_backward_b1", "alexnet_forward_backward_b8"} <= set(names)
    conv = [n for n in names if n.startswith("conv2d_")]
    assert len(conv) == 2 * len(cases.VGG16_CONV_SHAPES) == 18
    assert [c.name for c in cases.select("conv2d_512x512_*")] == ["conv2d_512x512_28_forward",
                                                                  "conv2d_512x512_28_backward",
                                                                  "conv2d_512x512_14_forward",
                                                                  "conv2d_512x512_14_backward"]


def test_timing_statistics_and_interleaving():
    order = []
    workloads = {"a": harness.Workload(run=lambda s: order.append("a")),
                 "b": harness.Workload(run=lambda s: order.append("b"))}
    timings = harness.compare(workloads, warmup=1, repeats=4)
    assert order == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert all(len(t.samples) == 4 and t.iqr >= 0 for t in timings.values())
    order.clear()
    harness.compare(workloads, warmup=1, repeats=2, interleave=False)
    assert order == ["a"] * 3 + ["b"] * 3
    t = harness.Timing.from_samples([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (t.q1, t.median, t.q3, t.iqr) == (2.0, 3.0, 4.0, 2.0)


def test_tracemalloc_peak_sees_a_numpy_temporary():
    size = 8 * 2**20
    peak = harness.tracemalloc_peak(harness.Workload(run=lambda s: np.ones(size // 8).sum()))
    assert size <= peak < size + 2**20


def test_machine_slug_is_a_file_name():
    env = {"cpu_model": "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", "cpu_count": 2, "backend": "numpy"}
    assert machine_slug(env) == "intel-xeon-platinum-8481c-2cpu"
    assert machine_slug({**env, "backend": "cupy", "gpu": "NVIDIA H100 80GB HBM3"}) == "nvidia-h100-80gb-hbm3"
    assert record("numpy")["backend"] == "numpy"


def test_report_rows_show_errors_memory_and_flops():
    timing = {"median": 0.002, "q1": 0.0015, "q3": 0.0025, "iqr": 0.001, "samples": [0.002]}
    rows = report.rows([
        {"name": "c", "description": "d", "kind": "time", "flops": 4e9, "minigrad": timing,
         "pytorch": dict(timing, median=0.004), "ratio": 0.5},
        {"name": "m", "description": "d", "kind": "memory", "method": "peak RSS", "minigrad": {"bytes": 2**21},
         "pytorch": {"bytes": 2**20}, "ratio": 2.0},
        {"name": "e", "description": "d", "kind": "time", "error": "ValueError: bad"},
    ])
    assert rows[0] == ["c", "d", "2.0 ms ± 1.0", "4.0 ms ± 1.0", "0.50", "2000 / 1000 GFLOP/s"]
    assert rows[1][2:5] == ["2 MiB", "1 MiB", "2.00"]
    assert rows[2][2] == "error: ValueError: bad"
