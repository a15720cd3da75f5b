"""A small CNN learns a synthetic problem with SGD and with Adam, reproducibly.

conv -> relu -> max pool -> flatten -> linear -> cross entropy: the loss must go down, and
training twice from the same seed must give the same bytes of the final weights.
"""
import numpy as np
import pytest

import backends
import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim


def _data(seed, n=24, classes=3):
    """8x8 images: noise plus a bright 3x3 patch whose position is the class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    images = rng.normal(0, 0.5, size=(n, 1, 8, 8)).astype(np.float32)
    for i, c in enumerate(labels):
        images[i, 0, 1 + 2 * c:4 + 2 * c, 1 + 2 * c:4 + 2 * c] += 2.0
    name = backends.current().name
    return mg.Tensor(images, backend=name), mg.Tensor(labels, backend=name)


def _train(make_optimizer, seed=0, steps=12, scheduler=None):
    """(losses, net) after ``steps`` full-batch steps; ``scheduler(opt)`` makes a schedule
    stepped after every optimizer step."""
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(4 * 4 * 4, 3, rng=rng))
    opt = make_optimizer(net.parameters())
    schedule = scheduler(opt) if scheduler else None
    images, labels = _data(seed + 1)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(net(images), labels)
        loss.backward()
        opt.step()
        if schedule:
            schedule.step()
        losses.append(loss.item())
    return losses, net, opt


def _weight_bytes(net):
    return {k: backends.backend_of(v).to_numpy(v).tobytes() for k, v in net.state_dict().items()}


OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: optim.Adam(ps, lr=0.02),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_small_cnn_learns_and_is_reproducible(name):
    losses, net, _ = _train(OPTIMIZERS[name])
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert _weight_bytes(net) == _weight_bytes(_train(OPTIMIZERS[name])[1])
    assert _weight_bytes(net) != _weight_bytes(_train(OPTIMIZERS[name], seed=5, steps=1)[1])


def test_step_schedule_during_training():
    losses, _, opt = _train(OPTIMIZERS["sgd"], scheduler=lambda o: optim.StepLR(o, step_size=4, gamma=0.5))
    assert losses[-1] < losses[0]
    assert [g["lr"] for g in opt.param_groups] == [0.1 * 0.5 ** 3]
