"""Optimizers: trajectories against torch.optim in float64, L-BFGS on Rosenbrock, bad input."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

pytestmark = pytest.mark.usefixtures("numpy_backend")  # CPU reference checks
STEPS = 6


def _problem(seed=0):
    """A least-squares problem (mean squared residual of A w - b) and a tiny MLP's data."""
    rng = np.random.default_rng(seed)
    return {"A": rng.normal(size=(8, 3)), "b": rng.normal(size=8), "w": rng.normal(size=3),
            "x": rng.normal(size=(6, 3)), "y": rng.normal(size=(6, 2))}


def _mlp(rng):
    net = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.Tanh(), nn.Linear(5, 2, rng=rng))
    return net.astype("float64")


def _torch_mlp(torch, net):
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    tnet.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in net.state_dict().items()})
    return tnet


def _mg_model(kind, data):
    """(parameters, loss closure without zeroing) for the minigrad side."""
    if kind == "lsq":
        w = nn.Parameter(data["w"].copy())
        A, b = mg.Tensor(data["A"]), mg.Tensor(data["b"])
        return [w], lambda: ((A @ w - b) ** 2).mean()
    net = _mlp(np.random.default_rng(1))
    x, y = mg.Tensor(data["x"]), mg.Tensor(data["y"])
    return net.parameters(), lambda: ((net(x) - y) ** 2).mean()


def _torch_model(torch, kind, data):
    if kind == "lsq":
        w = torch.tensor(data["w"], requires_grad=True)
        A, b = torch.from_numpy(data["A"]), torch.from_numpy(data["b"])
        return [w], lambda: ((A @ w - b) ** 2).mean()
    tnet = _torch_mlp(torch, _mlp(np.random.default_rng(1)))
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    return list(tnet.parameters()), lambda: ((tnet(x) - y) ** 2).mean()


def _trajectory(params, loss_fn, opt, steps=STEPS, use_closure=False):
    """Parameter values (flattened, concatenated) after each step."""
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        if use_closure:
            opt.step(closure)
        else:
            closure()
            opt.step()
        out.append(np.concatenate([np.array(p.detach().numpy()).ravel() for p in params]))
    return np.array(out)


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
]
ADAM_CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
]


@pytest.mark.parametrize("kind", ["lsq", "mlp"])
@pytest.mark.parametrize("name, config", [("SGD", c) for c in SGD_CONFIGS] + [("Adam", c) for c in ADAM_CONFIGS])
def test_first_order_trajectory_matches_torch(torch, kind, name, config):
    data = _problem()
    params, loss_fn = _mg_model(kind, data)
    ours = _trajectory(params, loss_fn, getattr(optim, name)(params, **config))
    tparams, tloss_fn = _torch_model(torch, kind, data)
    theirs = _trajectory(tparams, tloss_fn, getattr(torch.optim, name)(tparams, **config))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ours[0], ours[-1]), "the parameters did not move"


@pytest.mark.parametrize("config", [
    dict(),
    dict(lr=0.5, history_size=3, max_iter=4),
    dict(line_search_fn="strong_wolfe", history_size=4, max_iter=5),
])
@pytest.mark.parametrize("kind", ["lsq", "mlp"])
def test_lbfgs_trajectory_matches_torch(torch, kind, config):
    data = _problem()
    params, loss_fn = _mg_model(kind, data)
    ours = _trajectory(params, loss_fn, optim.LBFGS(params, **config), steps=3, use_closure=True)
    tparams, tloss_fn = _torch_model(torch, kind, data)
    theirs = _trajectory(tparams, tloss_fn, torch.optim.LBFGS(tparams, **config), steps=3, use_closure=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


def test_param_groups_take_their_own_options(torch):
    data = _problem()
    params, loss_fn = _mg_model("mlp", data)
    groups = lambda ps: [{"params": ps[:2], "lr": 0.1}, {"params": ps[2:]}]  # noqa: E731
    ours = _trajectory(params, loss_fn, optim.SGD(groups(params), lr=0.01, momentum=0.5))
    tparams, tloss_fn = _torch_model(torch, "mlp", data)
    theirs = _trajectory(tparams, tloss_fn, torch.optim.SGD(groups(tparams), lr=0.01, momentum=0.5))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_steplr_matches_torch(torch):
    w = nn.Parameter(np.zeros(2))
    opt = optim.SGD([w], lr=0.5)
    sched = optim.StepLR(opt, step_size=3, gamma=0.5)
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.5)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5)
    ours, theirs = [], []
    for _ in range(8):
        ours.append(sched.get_last_lr()[0])
        theirs.append(tsched.get_last_lr()[0])
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    assert ours == theirs
    assert ours[-1] == 0.125


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


@pytest.mark.parametrize("config, atol", [
    (dict(line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-14), 1e-7),
    (dict(lr=0.1, max_iter=50), 1e-4),   # torch's fixed step: slower, but it gets there
])
def test_lbfgs_minimizes_rosenbrock(config, atol):
    p = nn.Parameter(np.array([-1.5, 2.0]))
    opt = optim.LBFGS([p], history_size=10, **config)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    start = rosenbrock(p).item()
    for _ in range(30):
        opt.step(closure)
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], rtol=0, atol=atol)
    assert rosenbrock(p).item() < 1e-8 * start


def test_lbfgs_stops_at_a_minimum_without_moving():
    p = nn.Parameter(np.array([1.0, 1.0]))
    calls = []
    opt = optim.LBFGS([p])

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    assert opt.step(closure).item() == 0.0
    assert len(calls) == 1 and p.numpy().tolist() == [1.0, 1.0]


def test_float32_parameters_stay_float32():
    for opt_cls, kwargs in [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, {})]:
        w = nn.Parameter(np.ones(3, dtype=np.float32))
        opt = opt_cls([w], **kwargs)
        (w * w).sum().backward()
        opt.step()
        assert w.dtype == np.float32 and opt.state[w] and all(
            v.dtype == np.float32 for v in opt.state[w].values() if hasattr(v, "dtype"))


def test_step_does_not_modify_the_gradient_array():
    w = nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.5)
    (w * 3.0).sum().backward()
    grad = w.grad
    before = grad.copy()
    opt.step()
    opt.step()
    np.testing.assert_array_equal(grad, before)


def test_parameters_without_gradient_are_left_alone():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    (a * 2.0).sum().backward()
    opt.step()
    assert b.numpy().tolist() == [1.0, 1.0] and b not in opt.state
    assert (a.numpy() < 1.0).all()
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("make, message", [
    (lambda w: optim.SGD([], lr=0.1), "empty list"),
    (lambda w: optim.SGD([w], lr=-1.0), "lr must be >= 0"),
    (lambda w: optim.SGD([w], lr=0.1, nesterov=True), "nesterov"),
    (lambda w: optim.SGD([w, w], lr=0.1), "twice"),
    (lambda w: optim.SGD([w.data], lr=0.1), "must be Tensors"),
    (lambda w: optim.SGD([{"params": [w], "lrr": 1}], lr=0.1), "unknown option"),
    (lambda w: optim.Adam([w], betas=(0.9, 1.0)), "betas"),
    (lambda w: optim.LBFGS([w], line_search_fn="armijo"), "strong_wolfe"),
    (lambda w: optim.StepLR(optim.SGD([w]), step_size=0), "step_size"),
])
def test_bad_options_raise_clear_errors(make, message):
    w = nn.Parameter(np.ones(2))
    with pytest.raises((ValueError, TypeError), match=message):
        make(w)


def test_lbfgs_needs_a_closure():
    w = nn.Parameter(np.ones(2))
    with pytest.raises(TypeError, match="closure"):
        optim.LBFGS([w]).step(None)
