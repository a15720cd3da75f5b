"""torch.save'd checkpoints of the torchvision-layout networks (random weights), converted with
`minigrad weights convert` and loaded with models.load, give torch's logits and input gradient:
<= 1e-5 relative in float64, <= 1e-4 in float32. The torch networks are the plain torch.nn
reference chains of tests/test_models.py."""
import numpy as np
import pytest

import models
from test_models import TORCH_BUILDERS, _logits_and_input_grad, _rel, _torch_logits_and_input_grad
from visualize.cli import main as cli_main

# (architecture, legacy container?, input size). Both containers on AlexNet; the 528 MB VGGs once
# each (VGG-16 in the legacy container its real file most likely uses), to keep the folder fast.
CASES = [("alexnet", False, 96), ("alexnet", True, 96), ("vgg16", True, 48), ("vgg19", False, 32)]


@pytest.mark.torch
@pytest.mark.parametrize("name, legacy, size", CASES)
def test_converted_torch_checkpoint_matches_torch(torch, tmp_path, name, legacy, size):
    make_torch, _ = TORCH_BUILDERS[name]
    torch.manual_seed(0)
    tnet = make_torch(torch).eval()
    src, dst = tmp_path / f"{name}.pth", tmp_path / f"{name}.h5"
    torch.save(tnet.state_dict(), src, _use_new_zipfile_serialization=not legacy)
    assert cli_main(["weights", "convert", str(src), str(dst), "--arch", name]) == 0
    src.unlink()

    net = models.load(dst)
    assert net.metadata["source_format"] == ("torch-legacy" if legacy else "torch-zip")
    for key, value in tnet.state_dict().items():
        np.testing.assert_array_equal(np.asarray(net.state_dict()[key]), value.numpy(), err_msg=key)
    for p in tnet.parameters():
        p.requires_grad_(False)

    x32 = np.random.default_rng(2).standard_normal((1, 3, size, size)).astype(np.float32)
    cls = 3
    ours32 = _logits_and_input_grad(net, x32, cls)
    ref32 = _torch_logits_and_input_grad(torch, tnet, x32, cls)
    net.astype(np.float64)
    tnet.double()
    ours64 = _logits_and_input_grad(net, x32.astype(np.float64), cls)
    ref64 = _torch_logits_and_input_grad(torch, tnet, x32.astype(np.float64), cls)
    errors = {"logits64": _rel(ours64[0], ref64[0]), "grad64": _rel(ours64[1], ref64[1]),
              "logits32": _rel(ours32[0], ref32[0]), "grad32": _rel(ours32[1], ref32[1])}
    print(f"\n{name} {'legacy' if legacy else 'zip'} relative errors vs torch: "
          + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    assert ours64[0].dtype == np.float64 and ours32[0].dtype == np.float32
    assert errors["logits64"] <= 1e-5 and errors["grad64"] <= 1e-5
    assert errors["logits32"] <= 1e-4 and errors["grad32"] <= 1e-4
