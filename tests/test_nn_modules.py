"""nn.Module and Sequential: names, state dicts, modes, repr, init, running part of a chain."""
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


pytestmark = pytest.mark.usefixtures("numpy_backend")  # CPU reference checks


def _net(seed=0):
    """features (conv, relu, pool) -> classifier (flatten, linear, relu, dropout, linear),
    with aliases; the shape of every network the visualization methods use."""
    rng = np.random.default_rng(seed)
    features = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, rng=rng), nn.ReLU(), nn.Dropout(0.5),
                               nn.Linear(5, 4, rng=rng))
    aliases = {"conv1": "features.0", "relu1": "features.1", "fc1": "classifier.1", "fc2": "classifier.4"}
    return nn.Sequential(OrderedDict(features=features, classifier=classifier), aliases=aliases)


def _mlp(seed=0):
    """Linear / ReLU / Tanh only: needs no spatial function."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, 6, rng=rng), nn.ReLU(), nn.Linear(6, 5, rng=rng), nn.Tanh(),
                         nn.Linear(5, 3, rng=rng), aliases={"hidden": "1", "squash": "3"}).astype("float64")


def _torch_net(torch):
    tn = torch.nn
    return tn.Sequential(OrderedDict(
        features=tn.Sequential(tn.Conv2d(2, 3, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2)),
        classifier=tn.Sequential(tn.Flatten(), tn.Linear(12, 5), tn.ReLU(), tn.Dropout(0.5), tn.Linear(5, 4))))


# ---------------------------------------------------------------------- names
def test_names_and_order_match_torch(torch):
    net, tnet = _net(), _torch_net(torch)
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [type(m).__name__ for _, m in net.named_modules()] == [type(m).__name__ for _, m in tnet.named_modules()]
    assert [(n, p.shape) for n, p in net.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tnet.named_parameters()]
    assert list(net.state_dict()) == list(tnet.state_dict())


def test_batchnorm_buffers_are_in_the_state_dict_like_torch(torch):
    ours = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)).state_dict()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2)).state_dict()
    assert list(ours) == [k for k in theirs if not k.endswith("num_batches_tracked")]


def test_shared_module_is_listed_once_but_saved_under_both_names():
    shared = nn.Linear(3, 3, rng=np.random.default_rng(0))
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(net.parameters()) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    mg.optim.SGD(net.parameters(), lr=0.1)  # no "parameter appears twice"


def test_assigning_a_tensor_to_a_buffer_keeps_it_a_buffer():
    bn = nn.BatchNorm2d(3)
    bn.running_mean = mg.Tensor(np.full(3, 2.0, dtype=np.float32))
    assert dict(bn.named_buffers())["running_mean"] is bn.running_mean
    assert bn.state_dict()["running_mean"].tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------- state dicts
def test_state_dict_round_trip_copies_values():
    a, b = _net(0), _net(1)
    x = mg.Tensor(np.random.default_rng(2).normal(size=(2, 2, 4, 4)).astype(np.float32))
    a.eval(), b.eval()
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    missing, unexpected = b.load_state_dict(a.state_dict())
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # b owns copies: changing b in place leaves a alone
    b.features[0].weight.data += 1.0
    assert not np.allclose(a.features[0].weight.numpy(), b.features[0].weight.numpy())


def test_state_dict_converts_dtype_and_accepts_tensors():
    a, b = _mlp(0), _mlp(1).astype("float32")
    b.load_state_dict({k: mg.Tensor(v) for k, v in a.state_dict().items()})
    assert b[0].weight.dtype == np.float32
    np.testing.assert_allclose(b[0].weight.numpy(), a[0].weight.numpy(), rtol=1e-7)


def test_state_dict_missing_and_unexpected_keys():
    net = _mlp()
    state = net.state_dict()
    del state["0.bias"]
    state["9.weight"] = np.zeros((2, 2))
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['9.weight'\]"):
        net.load_state_dict(state)
    before = net[0].weight.numpy().copy()
    state["0.weight"] = np.ones((6, 4))
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert (missing, unexpected) == (["0.bias"], ["9.weight"])
    assert net[0].weight.numpy().tolist() == np.ones((6, 4)).tolist() != before.tolist()


def test_state_dict_shape_mismatch_names_the_key_and_loads_nothing():
    net = _mlp()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["2.weight"] = np.zeros((5, 7))
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(5, 7\) in the state dict but \(5, 6\)"):
        net.load_state_dict(state)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------------- modes, repr, init
def test_train_eval_switch_dropout_and_batchnorm():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(8, 8, rng=rng), nn.Dropout(0.5, rng=np.random.default_rng(1)))
    x = mg.Tensor(rng.normal(size=(4, 8)).astype(np.float32))
    assert all(m.training for m in net.modules())
    train_out = net(x).numpy()
    assert (train_out == 0).mean() > 0.2  # dropout is active in training
    net.eval()
    assert not any(m.training for m in net.modules())
    np.testing.assert_array_equal(net(x).numpy(), net[0](x).numpy())

    bn = nn.BatchNorm2d(2)
    xb = mg.Tensor(rng.normal(3.0, 2.0, size=(4, 2, 3, 3)).astype(np.float32))
    out = bn(xb).numpy()  # training: batch statistics, running ones move
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert (bn.running_mean.numpy() != 0).all()
    running = bn.running_mean.numpy().copy()
    bn.eval()
    out = bn(xb).numpy()   # evaluation: running statistics, which stay put
    np.testing.assert_array_equal(bn.running_mean.numpy(), running)
    expected = (xb.numpy() - running[:, None, None]) / np.sqrt(bn.running_var.numpy()[:, None, None] + bn.eps)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    bn.train()
    assert bn.training


def test_repr_matches_torch_for_conv_linear_relu(torch):
    tn = torch.nn
    ours = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(3, 8, (3, 5), stride=2, bias=False),
                         nn.Conv2d(4, 8, 3, dilation=2, groups=2), nn.ReLU(),
                         nn.Sequential(nn.Linear(4, 2), nn.Linear(4, 2, bias=False)))
    theirs = tn.Sequential(tn.Conv2d(3, 8, 3, padding=1), tn.Conv2d(3, 8, (3, 5), stride=2, bias=False),
                           tn.Conv2d(4, 8, 3, dilation=2, groups=2), tn.ReLU(),
                           tn.Sequential(tn.Linear(4, 2), tn.Linear(4, 2, bias=False)))
    assert repr(ours) == repr(theirs)


def test_repr_shows_the_tree():
    text = repr(_net())
    assert text.startswith("Sequential(\n  (features): Sequential(\n    (0): Conv2d(2, 3,")
    assert "(3): Dropout(p=0.5)" in text and text.endswith(")\n)")


@pytest.mark.parametrize("make, fan_in", [
    (lambda rng: nn.Linear(50, 400, rng=rng), 50),
    (lambda rng: nn.Conv2d(6, 40, 3, rng=rng), 54),
    (lambda rng: nn.Conv2d(8, 60, (3, 2), groups=4, rng=rng), 12),
])
def test_default_init_is_uniform_within_torch_bound(make, fan_in):
    layer = make(np.random.default_rng(0))
    bound = 1 / np.sqrt(fan_in)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound
    w = layer.weight.numpy()
    assert np.abs(w).max() > 0.98 * bound                             # fills the interval
    assert abs(w.mean()) < 0.05 * bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.1                  # variance of U(-b, b)
    same = make(np.random.default_rng(0)).weight.numpy()
    assert same.tobytes() == w.tobytes()                              # seeded


# ---------------------------------------------------------------------- running part of a chain
def test_layer_names_and_resolve():
    net = _net()
    assert net.layer_names()[:4] == ["conv1", "relu1", "fc1", "fc2"]
    assert "classifier.2" in net.layer_names()
    assert net.resolve("fc1") == "classifier.1" and net.resolve("features.2") == "features.2"
    with pytest.raises(KeyError) as err:
        net.resolve("fc3")
    message = str(err.value)
    assert "unknown layer 'fc3'" in message and "did you mean" in message and "fc1" in message
    assert "Valid layers: conv1, relu1, fc1, fc2, features.0" in message
    with pytest.raises(KeyError, match="unknown layer 'nothing'"):
        net.forward_to(mg.Tensor(np.zeros((1, 4))), "nothing")


def test_slicing_gives_a_sequential():
    net = _mlp()
    head = net[:2]
    assert isinstance(head, nn.Sequential) and [n for n, _ in head.layers()] == ["0", "1"]
    x = mg.Tensor(np.random.default_rng(0).normal(size=(2, 4)))
    np.testing.assert_array_equal(head(x).numpy(), net.forward_to(x, "hidden").numpy())


class _Counting(nn.Module):
    def __init__(self, inner, calls):
        super().__init__()
        self.inner, self.calls = inner, calls

    def forward(self, x):
        self.calls.append(1)
        return self.inner(x)


def test_forward_to_and_capture_run_each_layer_once_and_stop_early():
    calls = {}
    base = _mlp()
    net = nn.Sequential(*[_Counting(m, calls.setdefault(i, [])) for i, m in enumerate(base)],
                        aliases=base.aliases)
    x = mg.Tensor(np.random.default_rng(0).normal(size=(3, 4)))
    out = net.capture(x, ["squash", "0", "hidden"])
    assert list(out) == ["squash", "0", "hidden"]         # in the order asked for
    assert [len(calls[i]) for i in range(5)] == [1, 1, 1, 1, 0]
    h0 = x.numpy() @ base[0].weight.numpy().T + base[0].bias.numpy()
    np.testing.assert_allclose(out["0"].numpy(), h0)
    np.testing.assert_allclose(out["hidden"].numpy(), np.maximum(h0, 0))
    np.testing.assert_array_equal(out["squash"].numpy(), base.forward_to(x, "3").numpy())
    np.testing.assert_array_equal(base.forward_to(x, "4").numpy(), base(x).numpy())


def test_backward_from_an_intermediate_layer_matches_torch_hooks(torch):
    net = _mlp(3)
    rng = np.random.default_rng(4)
    x_np, g_np = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    x = mg.Tensor(x_np, requires_grad=True)
    act = net.forward_to(x, "squash")
    act.backward(g_np)

    tn = torch.nn
    tnet = tn.Sequential(tn.Linear(4, 6), tn.ReLU(), tn.Linear(6, 5), tn.Tanh(), tn.Linear(5, 3)).double()
    tnet.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in net.state_dict().items()})
    seen = {}
    tnet[3].register_forward_hook(lambda module, inputs, output: seen.setdefault("out", output))
    tx = torch.tensor(x_np, requires_grad=True)
    tnet(tx)
    seen["out"].backward(torch.from_numpy(g_np))

    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    for (name, p), (tname, tp) in zip(net.named_parameters(), tnet.named_parameters()):
        assert name == tname
        if name.startswith("4."):   # after the chosen layer: untouched
            assert p.grad is None and tp.grad is None
        else:
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_requires_grad_off_freezes_the_network_but_input_gets_gradient():
    net = _mlp().requires_grad_(False)
    x = mg.Tensor(np.ones((1, 4)), requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None and all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("mode", ["normal", "guided", "deconvnet"])
def test_in_place_relu_in_a_chain_changes_nothing_but_memory(mode):
    """With fast paths on, Sequential runs a ReLU after a conv or linear layer in place (the
    ReLU's output is its input's array); output and gradients equal the reference's."""
    net = _net().eval().astype("float64")
    x0 = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    results = []
    for fast in (True, False):
        with mg.fast_paths(fast), mg.relu_mode(mode):
            net.zero_grad()
            x = mg.Tensor(x0, requires_grad=True)
            y = net(x)
            relus = _functions_named(y, "ReLU")
            assert len(relus) == 2 and all((relu.inputs[0].data is relu.y) == fast for relu in relus)
            y.backward(np.ones(y.shape))
            results.append((y.numpy(), x.grad, net[0][0].weight.grad))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _functions_named(tensor, name):
    """The functions of class ``name`` in the graph that made ``tensor``."""
    found, stack, seen = [], [tensor.creator], set()
    while stack:
        function = stack.pop()
        if function is None or id(function) in seen:
            continue
        seen.add(id(function))
        found += [function] if type(function).__name__ == name else []
        stack += [t.creator for t in function.inputs if t is not None]
    return found


def test_in_place_relu_refuses_a_leaf_that_requires_grad():
    x = mg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="relu: inplace=True would overwrite a leaf tensor"):
        mg.functional.relu(x, inplace=True)
    y = mg.Tensor(np.array([-1.0, 2.0]))
    assert mg.functional.relu(y, inplace=True).data is y.data and y.numpy().tolist() == [0.0, 2.0]
