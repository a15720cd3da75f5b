"""torch.save'd state dicts of the torchvision-layout networks (random weights), converted with
`minigrad weights convert` and loaded with models.load, give torch's logits and input gradient:
<= 1e-5 relative in float64; in float32 logits <= 1e-4 and the input gradient within the
docs/numerics.md bound (3x torch's own float32-vs-float64 spread, floor 1e-4; against torch's float64
gradient routed through our max-pool choices, see tests/torch_reference.py). The torch networks
are the plain torch.nn references of tests/torch_reference.py (TORCH_BUILDERS)."""
import numpy as np
import pytest

import models
from torch_reference import (TORCH_BUILDERS, float32_grad_bound, host_state, logits_and_input_grad, our_pool_indices,
                             rel, torch_logits_and_input_grad, torch_net)
from visualize.cli import main as cli_main

# (architecture, legacy container?). Both containers on AlexNet; the 528 MB VGGs once each
# (VGG-16 in the legacy container its real file most likely uses), to keep the folder fast.
CASES = [("alexnet", False), ("alexnet", True), ("vgg16", True), ("vgg19", False)]


@pytest.mark.torch
@pytest.mark.parametrize("name, legacy", CASES)
def test_converted_torch_checkpoint_matches_torch(torch, tmp_path, name, legacy):
    make_torch, size = TORCH_BUILDERS[name]
    state = host_state(models.build(name, seed=3))
    tnet = torch_net(torch, make_torch, state)
    src, dst = tmp_path / f"{name}.pth", tmp_path / f"{name}.h5"
    torch.save(tnet.state_dict(), src, _use_new_zipfile_serialization=not legacy)
    del tnet
    assert cli_main(["weights", "convert", str(src), str(dst), "--arch", name]) == 0
    src.unlink()

    net = models.load(dst)
    assert net.metadata["source_format"] == ("torch-legacy" if legacy else "torch-zip")
    for key, value in host_state(net).items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)

    x32 = np.random.default_rng(2).standard_normal((1, 3, size, size)).astype(np.float32)
    cls = 3
    ours32 = logits_and_input_grad(net, x32, cls)
    ref32 = torch_logits_and_input_grad(torch, make_torch, state, x32, cls)
    pools = our_pool_indices(net, x32)
    net.astype(np.float64)
    state64 = {k: v.astype(np.float64) for k, v in state.items()}
    ours64 = logits_and_input_grad(net, x32.astype(np.float64), cls)
    ref64 = torch_logits_and_input_grad(torch, make_torch, state64, x32.astype(np.float64), cls)
    routed64 = torch_logits_and_input_grad(torch, make_torch, state64, x32.astype(np.float64), cls, pools)
    errors = {"logits64": rel(ours64[0], ref64[0]), "grad64": rel(ours64[1], ref64[1]),
              "logits32": rel(ours32[0], ref32[0]), "grad32": rel(ours32[1], routed64[1])}
    grad32_bound = float32_grad_bound(ref32[1], ref64[1])
    print(f"\n{name} {'legacy' if legacy else 'zip'} relative errors vs torch: "
          + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()) + f" (grad32 vs torch float64 routed through our pool choices, bound {grad32_bound:.1e})")
    assert ours64[0].dtype == np.float64 and ours32[0].dtype == np.float32
    assert errors["logits64"] <= 1e-5 and errors["grad64"] <= 1e-5
    assert errors["logits32"] <= 1e-4 and errors["grad32"] <= grad32_bound
