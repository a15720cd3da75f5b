"""The methods built on the optimization loop, on the shipped mnist_cnn: the numbers the
README states are measured here (class visualization, feature inversion, fooling, FGSM and
PGD), plus PGD's ball, the Yosinski projections and the methods' bad-input messages."""
from __future__ import annotations

import numpy as np
import pytest

from visualize.method import get_method
from visualize.methods import adversarial, class_visualization, deepdream, feature_inversion, fooling
from visualize.optvis import objectives, projections, space


def digits(held_out_digits, n, offset=0):
    images, labels = held_out_digits
    return images[offset:offset + n, None].astype(np.float32), labels[offset:offset + n]


@pytest.mark.slow
def test_class_visualization_of_every_digit_is_that_digit(trained_mnist):
    """The preset's image for each of the 10 classes is classified as that class with p >= 0.99."""
    result = get_method("class-visualization")(trained_mnist)(seed=0)
    classes = result.metadata["report"]["classes"]
    assert [c["predicted"] for c in classes] == [str(d) for d in range(10)]
    assert min(c["probability"] for c in classes) >= 0.99


def test_class_visualization_is_more_than_noise(trained_mnist):
    """A short run already makes the class win, and the image is smooth (not pixel noise):
    neighbouring pixels correlate strongly."""
    rng = np.random.default_rng(0)
    run = class_visualization.visualize(trained_mnist, objectives.class_logit([3, 7]), 2, rng, steps=40, lr=0.02,
                                        l2=3.0, tv=1.0, jitter=2, blur_sigma=0.5, blur_every=4)
    p = space.probabilities(trained_mnist, run.image)
    assert p[0, 3] > 0.9 and p[1, 7] > 0.9
    img = run.image[:, 0]
    a, b = img[:, :, :-1].ravel(), img[:, :, 1:].ravel()
    assert np.corrcoef(a, b)[0, 1] > 0.7


def test_feature_inversion_at_conv2_2_matches_features_and_class(trained_mnist, held_out_digits):
    images, labels = digits(held_out_digits, 1, offset=3)
    run, error = feature_inversion.invert(trained_mnist, images, "conv2_2", np.random.default_rng(0), steps=30, lr=1.0,
                                          optimizer="lbfgs", tv=1e-3)
    assert error.max() < 0.1, error
    assert (space.probabilities(trained_mnist, run.image).argmax(axis=1) == labels).all()
    assert np.abs(run.image - images).mean() < 0.2      # and it looks like the digit


@pytest.mark.slow
def test_feature_inversion_of_ten_held_out_digits(trained_mnist, held_out_digits):
    """The preset (40 L-BFGS steps) on ten held-out digits: every relative feature error
    under 0.1 and every reconstruction classified as its original."""
    images, labels = digits(held_out_digits, 10)
    run, error = feature_inversion.invert(trained_mnist, images, "conv2_2", np.random.default_rng(0), steps=40, lr=1.0,
                                          optimizer="lbfgs", tv=1e-3)
    assert error.max() < 0.1, error
    assert (space.probabilities(trained_mnist, run.image).argmax(axis=1) == labels).all()


@pytest.mark.slow
def test_fooling_ten_of_ten_held_out_digits(trained_mnist, held_out_digits):
    images, labels = digits(held_out_digits, 10)
    targets = (labels + 1) % 10
    run, linf, l2 = fooling.fool(trained_mnist, images, targets, np.random.default_rng(0), threshold=0.99,
                                 max_steps=500, step=0.1)
    p = space.probabilities(trained_mnist, run.image)
    assert (p[np.arange(10), targets] >= 0.99).all(), p[np.arange(10), targets]
    assert run.stopped
    assert linf.max() <= 1.0 and (l2 > 0).all()


def test_fooling_a_digit_stops_at_the_threshold(trained_mnist, held_out_digits):
    images, labels = digits(held_out_digits, 1)
    target = (labels[0] + 5) % 10
    run, linf, l2 = fooling.fool(trained_mnist, images, target, np.random.default_rng(0), threshold=0.99,
                                 max_steps=200, step=0.2)
    p = space.probabilities(trained_mnist, run.image)[0]
    assert run.stopped and run.steps < 200
    assert p[target] >= 0.99 and p.argmax() == target
    assert 0 < l2[0] <= 0.2 * run.steps + 1e-4          # no step longer than 0.2 (clipping only shortens)


@pytest.mark.parametrize("kind, eps", [("fgsm", 0.1), ("pgd", 0.1), ("pgd", 0.3)])
def test_attacks_stay_in_the_epsilon_ball(trained_mnist, held_out_digits, kind, eps):
    """Every pixel of FGSM's and PGD's images is within eps of the original and in [0, 1];
    at eps 0.3 (the MNIST radius of Madry et al.) PGD fools most digits."""
    images, labels = digits(held_out_digits, 16)
    adv = adversarial.run_attack(trained_mnist, images, labels, kind, eps, np.random.default_rng(0), steps=10)
    assert np.abs(adv - images).max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    stats = adversarial.success(trained_mnist, images, adv, labels)
    assert stats["clean_accuracy"] > 0.9
    assert stats["mean_linf_change"] > 0.5 * eps
    if eps == 0.3:
        assert stats["success_rate"] > 0.5, stats


@pytest.mark.slow
def test_pgd_is_stronger_than_fgsm_and_targeted_pgd_reaches_its_target(trained_mnist, held_out_digits):
    images, labels = digits(held_out_digits, 32, offset=100)
    rng = np.random.default_rng(1)
    fgsm = adversarial.success(trained_mnist, images, adversarial.run_attack(trained_mnist, images, labels, "fgsm", 0.2, rng), labels)
    pgd = adversarial.success(trained_mnist, images,
                              adversarial.run_attack(trained_mnist, images, labels, "pgd", 0.2, rng, steps=20), labels)
    assert pgd["success_rate"] >= fgsm["success_rate"]
    adv = adversarial.run_attack(trained_mnist, images, labels, "pgd", 0.3, rng, target=4, steps=20)
    targeted = adversarial.success(trained_mnist, images, adv, labels, target=4)
    assert targeted["success_rate"] > 0.5 and np.abs(adv - images).max() <= 0.3 + 1e-6


def test_project_linf_never_leaves_the_ball():
    rng = np.random.default_rng(0)
    origin = rng.uniform(0, 1, (2, 1, 5, 5)).astype(np.float32)
    ball = projections.ProjectLinf(origin, 0.05)
    for _ in range(20):
        pixels = origin + rng.normal(0, 1, origin.shape).astype(np.float32)
        ball(pixels, None, 0)
        projections.ClipRange()(pixels, None, 0)
        assert np.abs(pixels - origin).max() <= 0.05 + 1e-7


def test_yosinski_projections():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (1, 3, 8, 8))
    grad = rng.normal(size=x.shape)
    decayed = x.copy()
    projections.Decay(0.25, center=0.5)(decayed, grad, 0)
    assert np.allclose(decayed - 0.5, 0.75 * (x - 0.5))
    blurred = x.copy()
    projections.BlurEvery(1.0, every=2, center=0.5)(blurred, grad, 0)
    assert np.array_equal(blurred, x)                    # step 1 of every 2: untouched
    projections.BlurEvery(1.0, every=2, center=0.5)(blurred, grad, 1)
    assert np.abs(np.diff(blurred, axis=3)).mean() < 0.5 * np.abs(np.diff(x, axis=3)).mean()
    for projection, score in ((projections.ClipSmallNorm(50, center=0.5), np.sqrt(((x - 0.5) ** 2).sum(axis=1))),
                              (projections.ClipSmallContribution(50, center=0.5), np.abs(((x - 0.5) * grad).sum(axis=1)))):
        y = x.copy()
        projection(y, grad, 0)
        reset = (y == 0.5).all(axis=1)[0]
        assert reset.sum() == 32 and (score[0][reset] <= score[0][~reset].min()).all()


def test_deepdream_amplifies_the_layer(trained_mnist, held_out_digits):
    images, _ = digits(held_out_digits, 1)
    obj = objectives.dream("relu2_1")
    dreamed, runs = deepdream.dream(trained_mnist, images, obj, np.random.default_rng(0), octaves=2, steps=5,
                                    step=0.02, jitter=2)
    assert [r.image.shape[-1] for r in runs] == [20, 28]
    assert all(r.history[-1]["objective"] > r.history[0]["objective"] for r in runs)
    assert dreamed.min() >= 0 and dreamed.max() <= 1 and np.abs(dreamed - images).mean() > 0.01


@pytest.mark.parametrize("name, data, kwargs, error, message", [
    ("class-visualization", None, {"target": "eleven"}, KeyError, "unknown class 'eleven'"),
    ("class-visualization", None, {"layer": "conv9"}, KeyError, "unknown layer 'conv9'"),
    ("class-visualization", None, {"layer": "conv1_1", "unit": (99,)}, ValueError, "channel 99 is out of range"),
    ("class-visualization", None, {"steps": -5}, ValueError, "--steps: -5 is not valid"),
    ("class-visualization", None, {"lr": -0.1}, ValueError, "--lr: -0.1 is not valid"),
    ("class-visualization", None, {"param": "fourier", "preset": "yosinski-3"}, ValueError, "act on pixels"),
    ("fooling", "digit", {"target": 10}, KeyError, "class index 10 is out of range"),
    ("fooling", "digit", {"step": 0}, ValueError, "--step: 0.0 is not valid"),
    ("deepdream", "digit", {"layer": "relu9"}, KeyError, "unknown layer 'relu9'"),
    ("deepdream", "digit", {"channel": 40, "layer": "relu2_1"}, ValueError, "channel 40 is out of range"),
    ("feature-inversion", "digit", {"layers": "conv2_2,fc9"}, KeyError, "unknown layer 'fc9'"),
    ("feature-inversion", "digit", {"steps": 0}, ValueError, "--steps: 0 is not valid"),
    ("adversarial", "mnist", {"epsilon": -0.1}, ValueError, "--epsilon: -0.1 is not valid"),
    ("adversarial", "mnist", {"target": "cat"}, KeyError, "unknown class 'cat'"),
])
def test_bad_inputs_give_clear_messages(mnist_net, held_out_digits, name, data, kwargs, error, message):
    if data == "digit":
        data = held_out_digits[0][0].astype(np.float32)
    with pytest.raises(error, match=message):
        get_method(name)(mnist_net)(data, seed=0, **kwargs)


@pytest.mark.parametrize("name, data, kwargs", [
    ("class-visualization", None, {"steps": 3, "target": 5}),
    ("feature-inversion", "digit", {"steps": 3}),
    ("deepdream", "digit", {"steps": 2, "octaves": 2}),
    ("fooling", "digit", {"steps": 3}),
    ("adversarial", "mnist", {"count": 3, "steps": 2}),
])
def test_same_seed_same_bytes(mnist_net, held_out_digits, name, data, kwargs):
    if data == "digit":
        data = held_out_digits[0][0].astype(np.float32)
    method = get_method(name)(mnist_net)
    a, b = method(data, seed=3, **kwargs), method(data, seed=3, **kwargs)
    assert a.picture.tobytes() == b.picture.tobytes()
    assert all(a.arrays[k].tobytes() == b.arrays[k].tobytes() for k in a.arrays)


def test_frames_come_back_as_a_strip_and_a_gif(mnist_net):
    result = get_method("class-visualization")(mnist_net)(seed=0, steps=4, target=1, frames=2)
    assert result.attachments["frames.gif"][:6] == b"GIF89a"
    assert result.attachments["frames.png"][:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["alexnet_small", "vgg_small"])
def test_imagenet_presets_run_on_small_random_nets(request, arch):
    net = request.getfixturevalue(arch)
    picture = np.random.default_rng(0).uniform(0, 1, (40, 40, 3)).astype(np.float32)
    for name, data, kwargs in (("class-visualization", None, {"steps": 2}), ("deepdream", picture, {"steps": 1, "octaves": 1}),
                               ("feature-inversion", picture, {"steps": 2}), ("fooling", picture, {"steps": 2})):
        result = get_method(name)(net)(data, seed=0, **kwargs)
        assert result.picture.ndim == 3, name
