"""A chain of modules, and running it part of the way.

Every network the visualization methods use (AlexNet, VGG, the small nets) is a chain:
:class:`Sequential` of :class:`Sequential`\\ s. That makes the three things those methods
need simple and generic:

* ``net.forward_to(x, "relu4_3")``   run only up to (and including) a named layer;
* ``net.capture(x, ["relu1_1", ...])``   activations of several layers in one pass;
* backward from a layer: take the tensor ``forward_to`` returned and call
  ``activation.backward(grad)`` with the gradient you choose at that layer.

Layers are addressed by their dotted path (``features.28``) or by an alias
(``conv5_3``) that the network declares in ``aliases``.
"""
from __future__ import annotations

import difflib
from collections import OrderedDict

from minigrad import functional as F
from minigrad import kernels
from minigrad.nn.layers import Conv2d, Linear, ReLU
from minigrad.nn.module import Module


class Sequential(Module):
    """Modules applied one after another. Children are named "0", "1", ... or by the keys
    of an OrderedDict."""

    def __init__(self, *modules, aliases=None):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                setattr(self, name, m)
        else:
            for i, m in enumerate(modules):
                setattr(self, str(i), m)
        object.__setattr__(self, "aliases", dict(aliases or {}))

    def __getitem__(self, index):
        """``net[i]`` is the i-th child; ``net[a:b]`` a Sequential of those children (same names)."""
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        """Apply the modules in turn. With fast paths on (:func:`minigrad.fast_paths`), a ReLU
        right after a convolution or linear layer runs in place on that layer's output, which
        only this loop holds and whose backward does not need it (as torchvision's
        ``ReLU(inplace=True)``): one activation less to allocate and keep."""
        previous = None
        for m in self._modules.values():
            if type(m) is ReLU and isinstance(previous, (Conv2d, Linear)) and kernels.enabled():
                x = F.relu(x, inplace=True)
            else:
                x = m(x)
            previous = m
        return x

    # ------------------------------------------------------------------ layers by name
    def layers(self):
        """The leaf steps of the chain in order, as (dotted path, module); nested
        Sequentials are walked into."""
        return _walk(self, "")

    def layer_names(self):
        """Every name a layer answers to: aliases first (in chain order), then dotted paths."""
        by_path = {v: k for k, v in self.aliases.items()}
        paths = [p for p, _ in self.layers()]
        return [by_path[p] for p in paths if p in by_path] + paths

    def resolve(self, name: str) -> str:
        """The dotted path of layer ``name`` (an alias or a path); unknown names raise a
        KeyError that lists the closest valid names."""
        if name in self.aliases:
            return self.aliases[name]
        paths = [p for p, _ in self.layers()]
        if name in paths:
            return name
        valid = self.layer_names()
        close = difflib.get_close_matches(str(name), valid, n=5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown layer {name!r}{hint} Valid layers: {', '.join(valid)}")

    def forward_to(self, x, layer: str):
        """Run the chain from the input up to and including ``layer``; return its output."""
        target = self.resolve(layer)
        for path, m in self.layers():
            x = m(x)
            if path == target:
                return x
        raise AssertionError("unreachable: resolve() accepted a layer the chain does not have")

    def capture(self, x, layers):
        """Run the chain as far as the deepest of ``layers`` and return {name: output} for
        each requested name (aliases or paths, as given)."""
        wanted = {self.resolve(name): name for name in layers}
        found = OrderedDict()
        for path, m in self.layers():
            x = m(x)
            if path in wanted:
                found[wanted[path]] = x
                if len(found) == len(wanted):
                    break
        return OrderedDict((name, found[name]) for name in layers)


def _walk(seq, prefix):
    out = []
    for name, m in seq._modules.items():
        if isinstance(m, Sequential):
            out.extend(_walk(m, f"{prefix}{name}."))
        else:
            out.append((f"{prefix}{name}", m))
    return out
