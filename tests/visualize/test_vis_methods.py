"""Every registered method on the MNIST net and on random-weight AlexNet and VGG-16: shapes,
finite values, the sidecar round trip, and the same seed giving the same bytes."""
from __future__ import annotations

import numpy as np
import pytest

from visualize.method import registered
from visualize.result import Result

METHODS = registered()
NAMES = [m.name for m in METHODS]


def _check(result, method, net, tmp_path):
    assert result.picture.dtype == np.uint8 and result.picture.ndim == 3 and result.picture.shape[2] == 3
    assert result.picture.shape[0] > 20 and result.picture.shape[1] > 20
    for name, a in result.arrays.items():
        if a.dtype.kind == "f":
            assert np.isfinite(a).all(), f"{method.name}: {name} has NaN/inf"
    meta = result.metadata
    assert meta["method"] == method.name and meta["model"]["architecture"] == net.architecture
    assert meta["seed"] == 3 and meta["seconds"] >= 0 and meta["backend"] == net.parameters()[0].backend.name
    assert set(p.name for p in method.params) <= set(meta["hyperparameters"])
    files = result.save(tmp_path / "r.png", arrays=True)
    assert [f.suffix for f in files] == [".png", ".json", ".npz"]
    back = Result.load(tmp_path / "r.png")
    assert np.array_equal(back.picture, result.picture)
    assert back.metadata == meta
    for name, a in result.arrays.items():
        assert np.array_equal(back.arrays[name], a)


@pytest.mark.parametrize("method", METHODS, ids=NAMES)
def test_method_on_mnist(method, mnist_net, sample_input, tmp_path):
    data = sample_input(method, mnist_net)
    first = method(mnist_net)(data, seed=3, source="digit.png", **method.smoke)
    _check(first, method, mnist_net, tmp_path)
    again = method(mnist_net)(data, seed=3, source="digit.png", **method.smoke)
    assert first._repr_png_() == again._repr_png_(), "same seed, different picture bytes"
    for name in first.arrays:
        assert np.array_equal(first.arrays[name], again.arrays[name])


@pytest.mark.parametrize("method", METHODS, ids=NAMES)
@pytest.mark.parametrize("which", ["alexnet_small", "vgg_small"])
def test_method_on_imagenet_architectures(method, which, request, sample_input, tmp_path):
    """Presets are for the native 224 x 224 input; the random ImageNet nets run at 64 and 32
    here, with each method's ``smoke`` settings."""
    net = request.getfixturevalue(which)
    data = sample_input(method, net)
    result = method(net)(data, seed=3, **method.smoke)
    _check(result, method, net, tmp_path)
    if which == "alexnet_small":   # (VGG runs the same code; once is enough for its time)
        assert result._repr_png_() == method(net)(data, seed=3, **method.smoke)._repr_png_()


def test_shapes_of_each_method(mnist_net, held_out_digits):
    from visualize.methods.activations import Activations
    from visualize.methods.filters import Filters
    from visualize.methods.guided_backprop import GuidedBackprop
    from visualize.methods.occlusion import Occlusion
    from visualize.methods.saliency import Saliency
    digit = held_out_digits[0][0]
    assert Filters(mnist_net)().arrays["weights"].shape == (16, 1, 3, 3)
    deep = Filters(mnist_net)(layer="conv2_1", filters=(0, 5), channels=4)
    assert deep.arrays["weights"].shape == (2, 16, 3, 3) and not deep.metadata["report"]["first_layer"]
    act = Activations(mnist_net)(digit, layer="pool1")
    assert act.arrays["activations"].shape == (16, 14, 14) and act.arrays["zero_channels"].shape == (16,)
    assert Saliency(mnist_net)(digit).arrays["saliency"].shape == (28, 28)
    assert GuidedBackprop(mnist_net)(digit, layer="conv2_2", unit=(3, 2, 5)).arrays["gradient"].shape == (28, 28, 3)
    occ = Occlusion(mnist_net)(digit, patch=7, stride=7)
    assert occ.arrays["true_class_probability"].shape == (4, 4)
    assert occ.metadata["report"]["forward_passes"] == 17


def test_activations_marks_channels_zero_on_this_image(mnist_net, held_out_digits):
    from visualize.methods.activations import Activations
    result = Activations(mnist_net)(np.zeros((28, 28, 3), np.float32), layer="relu1_1")
    a, zero = result.arrays["activations"], result.arrays["zero_channels"]
    assert np.array_equal(zero, (a == 0).all(axis=(1, 2)))
    assert zero.any() and not zero.all()   # a blank image: some channels never fire, others do (bias)


def test_unknown_hyperparameter_is_a_type_error(mnist_net):
    from visualize.methods.saliency import Saliency
    with pytest.raises(TypeError, match="unknown hyperparameter.*patch"):
        Saliency(mnist_net)(np.zeros((28, 28, 3), np.float32), patch=3)


def test_presets_differ_per_architecture(alexnet_small, vgg_small, mnist_net):
    from visualize.methods.occlusion import Occlusion
    patches = {net.architecture: Occlusion(net).hyperparameters()["patch"]
               for net in (alexnet_small, vgg_small, mnist_net)}
    assert len(set(patches.values())) == 3
