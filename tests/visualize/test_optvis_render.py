"""The optimization loop of visualize.optvis: objectives compose, the loop is deterministic
for a seed, stops early, records frames, runs Adam, SGD and L-BFGS, and refuses bad input
with messages that say what to fix."""
from __future__ import annotations

import numpy as np
import pytest

from minigrad.tensor import Tensor
from visualize.optvis import frames, objectives, param, projections, regularizers, space, transforms
from visualize.optvis.objectives import IMAGE, LOGITS
from visualize.optvis.render import render


def start(net, seed=0):
    return param.Pixels.random((1, 1, 28, 28), np.random.default_rng(seed), mean=space.mean_image_value(net))


def test_objectives_add_scale_and_name_their_parts():
    acts = {"a": Tensor(np.array([[1.0, 2.0, 3.0]])), IMAGE: Tensor(np.full((1, 1, 2, 2), 0.5)),
            LOGITS: Tensor(np.array([[0.0, np.log(3.0)]]))}
    obj = 2 * objectives.channel("a", 1) - 0.5 * regularizers.l2() + objectives.class_log_probability(1) / 2
    parts = {k: v.item() for k, v in obj.parts(acts).items()}
    assert parts == pytest.approx({"channel[a:1]": 4.0, "l2": -0.125, "log_p[1]": 0.5 * np.log(0.75)})
    assert obj(acts).item() == pytest.approx(sum(parts.values()))
    assert obj.layers == ("a", IMAGE, LOGITS)
    assert repr(obj) == "2 * channel[a:1] - 0.5 * l2 + 0.5 * log_p[1]"
    assert sum([objectives.channel("a", 0), objectives.channel("a", 0)])(acts).item() == 2.0
    twice = objectives.channel("a", 0) + objectives.channel("a", 0)
    assert list(twice.parts(acts)) == ["channel[a:0]", "channel[a:0]#2"]


def test_same_seed_same_bytes_and_another_seed_differs(mnist_net):
    def run(seed):
        rng = np.random.default_rng(seed)
        p = param.Pixels.random((1, 1, 28, 28), rng, mean=0.2)
        obj = objectives.class_logit(4) - regularizers.l2(0.1)
        return render(mnist_net, obj, p, steps=4, lr=0.05, transform=transforms.standard(0.2), rng=rng,
                      projections=[projections.ClipRange()]).image
    a, b, c = run(5), run(5), run(6)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_the_loop_ascends_and_records_history_and_frames(trained_or_random_mnist):
    net = trained_or_random_mnist
    result = render(net, objectives.class_logit(2), start(net), steps=6, lr=0.05, frames_every=2)
    values = [h["objective"] for h in result.history]
    assert values[-1] > values[0]
    assert result.steps == 6 and not result.stopped
    assert result.frame_steps == [0, 2, 4, 6] and len(result.frames) == 4
    assert result.frames[0].shape == (28, 28, 3)
    assert frames.strip(result.frames, [f"step {s}" for s in result.frame_steps]).shape[1] > 4 * 28
    assert frames.gif(result.frames)[:6] == b"GIF89a"


def test_until_stops_early_and_keeps_the_checked_image(mnist_net):
    seen = []

    def until(acts):
        seen.append(acts[LOGITS].numpy().copy())
        return len(seen) == 3
    result = render(mnist_net, objectives.class_logit(1), start(mnist_net), steps=50, lr=0.1, until=until)
    assert result.stopped and result.steps == 2 and len(result.history) == 3
    with_image = mnist_net(space.to_input(mnist_net, Tensor(result.image))).numpy()
    assert np.allclose(with_image, seen[-1], atol=1e-5)


def test_lbfgs_and_sgd_minimize_a_feature_distance(trained_or_random_mnist):
    net = trained_or_random_mnist
    target = net.forward_to(space.to_input(net, start(net, seed=9)()), "conv1_1").numpy()
    obj = -objectives.feature_distance("conv1_1", target)
    for optimizer, lr, normalize in (("lbfgs", 1.0, None), ("sgd", 0.05, "l2"), ("adam", 0.02, None)):
        result = render(net, obj, start(net, seed=1), steps=8, optimizer=optimizer, lr=lr, normalize=normalize)
        assert result.history[-1]["objective"] > 2 * result.history[0]["objective"], optimizer


def test_projections_need_pixels(mnist_net):
    fourier = param.Fourier.random((1, 1, 28, 28), np.random.default_rng(0))
    with pytest.raises(ValueError, match="Pixels"):
        render(mnist_net, objectives.class_logit(0), fourier, steps=1, projections=[projections.ClipRange()])


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": -1}, "steps .* must be an integer >= 0"),
    ({"lr": -0.5}, "step size lr must be a positive number"),
    ({"lr": 0}, "step size lr must be a positive number"),
    ({"frames_every": -2}, "frames_every"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of"),
    ({"normalize": "l1"}, "normalize must be"),
    ({"optimizer": "lbfgs", "normalize": "sign"}, "L-BFGS chooses its own step"),
])
def test_bad_arguments_are_refused(mnist_net, kwargs, message):
    with pytest.raises(ValueError, match=message):
        render(mnist_net, objectives.class_logit(0), start(mnist_net), **kwargs)


@pytest.mark.parametrize("obj, error, message", [
    (objectives.channel("conv9_9", 0), KeyError, "unknown layer 'conv9_9'.*conv2_2"),
    (objectives.channel("conv1_1", 16), ValueError, "channel 16 is out of range: layer 'conv1_1' has 16 channels"),
    (objectives.neuron("conv2_1", 3, 20, 0), ValueError, r"position \(20, 0\) is outside the 14x14 maps of layer 'conv2_1'"),
    (objectives.class_logit(10), ValueError, "class 10 is out of range; the network has 10 classes"),
])
def test_units_that_do_not_exist_are_refused(mnist_net, obj, error, message):
    with pytest.raises(error, match=message):
        render(mnist_net, obj, start(mnist_net), steps=1)


def test_the_network_is_frozen_only_during_the_run(mnist_net):
    render(mnist_net, objectives.class_logit(0), start(mnist_net), steps=1)
    assert all(p.grad is None for p in mnist_net.parameters())
    mnist_net.requires_grad_(True)
    try:
        render(mnist_net, objectives.class_logit(0), start(mnist_net), steps=1)
        assert all(p.requires_grad and p.grad is None for p in mnist_net.parameters())
    finally:
        mnist_net.requires_grad_(False)
