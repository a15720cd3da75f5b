"""The fast-style network (models/fast_style.py): its layout, finite differences of the whole
network (input, mixing weights, conditional norm parameters), PyTorch's same network,
style mixing as a convex combination of (gamma, beta), any image size, the style/mix
messages, the weights file and its damaged variants."""
import re

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigrad import nn
from minigrad.gradcheck import gradcheck
from minigrad.tensor import Tensor
from models import fast_style
from models.hdf5_weights import WeightsValidationError

STYLES = ("composition_vii", "great_wave_off_kanagawa", "shipwreck_of_the_minotaur", "starry_night", "the_scream")
FEW = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tiny(styles=("a", "b", "c"), widths=(2, 3, 4), blocks=1, seed=0):
    net = fast_style.FastStyleNet(styles, widths, blocks, rng=np.random.default_rng(seed))
    # non-trivial per-style gamma and beta (they start at 1 and 0)
    rng = np.random.default_rng(seed + 1)
    for name, p in net.named_parameters():
        if name.endswith("norm.weight") or name.endswith("norm.bias"):
            p.data[...] = rng.normal(1.0 if name.endswith("weight") else 0.0, 0.5, p.shape)
    return net.eval()


def test_layout_is_johnsons_network_with_conditional_norms():
    net = fast_style.FastStyleNet(STYLES)
    convs = [m for _, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs][:3] == [(9, 9), (3, 3), (3, 3)] and convs[-1].kernel_size == (9, 9)
    assert [c.stride for c in convs][:3] == [(1, 1), (2, 2), (2, 2)]
    assert len(net.residual) == 5 and all(b.upsample for b in net.up)
    norms = [m for _, m in net.named_modules() if isinstance(m, nn.ConditionalInstanceNorm2d)]
    assert len(norms) == 3 + 10 + 2 and all(n.weight.shape[0] == 5 for n in norms)
    pads = [m for _, m in net.named_modules() if isinstance(m, nn.ReflectionPad2d)]
    assert len(pads) == len(convs)          # every convolution reads a reflection-padded input


def _gradcheck_network(n, h, w, seed):
    net = tiny(seed=seed % 7).astype(np.float64)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.random((n, 3, h, w)), requires_grad=True)
    mix = Tensor(rng.dirichlet(np.ones(3), size=n), requires_grad=True)
    gamma = net.up[0].norm.weight
    gamma.requires_grad = True
    assert gradcheck(lambda x, m, g: net(x, m), [x, mix, gamma], atol=1e-6, rtol=1e-4)


def test_network_gradcheck():
    """Finite differences through the whole network: input, mixing weights, a CIN gamma."""
    _gradcheck_network(1, 8, 8, seed=0)


@pytest.mark.slow
@FEW
@given(n=st.integers(1, 2), h=st.sampled_from([8, 12]), w=st.sampled_from([8, 12]), seed=st.integers(0, 2**16))
def test_network_gradcheck_over_shapes(n, h, w, seed):
    _gradcheck_network(n, h, w, seed)


def test_same_network_in_torch(torch):
    from benchmarks.fast_style_case import torch_fast_style
    net = tiny(widths=(3, 4, 6), blocks=2)
    x = np.random.default_rng(0).random((1, 3, 20, 16))
    for weights in ([0.0, 1.0, 0.0], [0.5, 0.0, 0.5]):
        theirs = torch_fast_style(net, weights, torch).double()
        expected = theirs(torch.from_numpy(x)).numpy()
        ours = net.astype(np.float64)(Tensor(x), np.asarray([weights])).numpy()
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-7)
        net.astype(np.float32)


def test_a_mix_is_the_network_with_blended_gamma_and_beta():
    net = tiny()
    x = Tensor(np.random.default_rng(1).random((1, 3, 16, 16)).astype(np.float32))
    w = np.array([[0.2, 0.0, 0.8]], np.float32)
    mixed = net(x, w).numpy()
    single = tiny(styles=("mix",))
    state = net.state_dict()
    single.load_state_dict({k: (w @ np.asarray(v) if k.endswith(("norm.weight", "norm.bias")) else v)
                            for k, v in state.items()})
    np.testing.assert_allclose(single(x, np.array([0])).numpy(), mixed, rtol=0, atol=1e-5)
    # a one-hot mix is the style itself, and the styles differ
    one_hot = net(x, np.array([[0.0, 0.0, 1.0]], np.float32)).numpy()
    np.testing.assert_array_equal(one_hot, net(x, np.array([2])).numpy())
    assert np.abs(one_hot - net(x, np.array([0])).numpy()).max() > 1e-3


@pytest.mark.parametrize("shape", [(13, 21, 3), (9, 8, 3), (31, 17), (40, 50, 1)])
def test_stylize_any_size(shape):
    img = np.random.default_rng(2).random(shape).astype(np.float32)
    out = fast_style.stylize(tiny(), img, [0.5, 0.5, 0.0])
    assert out.shape == shape[:2] + (3,) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_stylize_refuses_tiny_images():
    with pytest.raises(ValueError, match="at least 8"):
        fast_style.stylize(tiny(), np.zeros((7, 30, 3), np.float32), [1.0, 0, 0])


@pytest.mark.parametrize("bad, words", [(np.full((12, 12, 3), np.nan, np.float32), "NaN"),
                                        (np.full((12, 12, 3), 200, np.uint8), "/ 255"),
                                        (np.full((12, 12, 3), 3.0, np.float32), "outside [0, 1]")])
def test_stylize_refuses_what_is_not_an_image_in_0_1(bad, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        fast_style.stylize(tiny(), bad, [1.0, 0, 0])


def test_style_names_resolve_like_a_user_types_them():
    w = fast_style.mixing_weights("0.7:starry-night,0.3:great-wave", STYLES)
    np.testing.assert_array_equal(w, [0, 0.3, 0, 0.7, 0])
    np.testing.assert_array_equal(fast_style.mixing_weights("the_scream", STYLES), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(fast_style.mixing_weights(1, STYLES), [0, 1, 0, 0, 0])


@pytest.mark.parametrize("mix, error, words", [
    ("mona_lisa", KeyError, ["not trained with it", "starry_night", "the_scream"]),
    ("0.5:starry_night,0.5:stary_nite", KeyError, ["did you mean starry_night"]),
    ("0.7:starry_night,0.4:the_scream", ValueError, ["sum to 1", "1.1", "0.636:starry_night"]),
    ("-0.5:starry_night,1.5:the_scream", ValueError, ["non-negative", "-0.5"]),
    ("0.5:starry_night,0.5:starry-night", ValueError, ["twice"]),
    ("0.5:starry_night,the_scream", ValueError, ["no weight"]),
    ("abc:starry_night", ValueError, ["not a number"]),
    ("0.5:s,0.5:s", KeyError, ["ambiguous", "shipwreck_of_the_minotaur", "starry_night"]),
])
def test_bad_styles_and_mixes_say_what_to_do(mix, error, words):
    with pytest.raises(error) as info:
        fast_style.mixing_weights(mix, STYLES)
    for word in words:
        assert word in str(info.value)


def test_weights_file_round_trip_and_record(tmp_path):
    net = tiny()
    path = fast_style.save(net, tmp_path / "f.h5", {"training_command": "minigrad train fast-style", "seed": 3,
                                                    "final_losses": {"style": 0.5}})
    back = fast_style.load(path)
    assert back.styles == net.styles and back.widths == net.widths
    assert back.metadata["seed"] == 3 and back.metadata["final_losses"] == {"style": 0.5}
    img = np.random.default_rng(0).random((12, 12, 3)).astype(np.float32)
    np.testing.assert_array_equal(fast_style.stylize(back, img, [0, 1, 0]), fast_style.stylize(net, img, [0, 1, 0]))


def _damage(tmp_path, how):
    path = fast_style.save(tiny(), tmp_path / "f.h5")
    with h5py.File(path, "r+") as f:
        if how == "nan":
            f["up/up1/norm/weight"][0, 0] = np.nan
        elif how == "shape":
            del f["out/weight"]
            f["out/weight"] = np.zeros((3, 2, 3, 3), np.float32)
        elif how == "format":
            f.attrs["format"] = "minigrad-weights"
        elif how == "styles":
            f.attrs["styles"] = "[1, 2]"
    return path


@pytest.mark.parametrize("how, words", [("nan", "NaN"), ("shape", "out.weight"), ("format", "--network"),
                                        ("styles", "list of 1 to")])
def test_damaged_weights_files_are_refused_by_name(tmp_path, how, words):
    path = _damage(tmp_path, how)
    with pytest.raises(WeightsValidationError) as info:
        fast_style.load(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_a_classifier_file_is_not_a_fast_style_file():
    from models import REPO_ROOT
    with pytest.raises(WeightsValidationError, match="--network"):
        fast_style.load(REPO_ROOT / "weights" / "mnist_cnn.h5")
