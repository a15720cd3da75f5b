"""The :class:`Optimizer` base: parameter groups, per-parameter state, ``zero_grad``.

As in torch, an optimizer holds ``param_groups``: a list of dicts, each with a list of
parameters under ``"params"`` and that group's hyper-parameters (``"lr"``, ...). Passing a
plain iterable of parameters makes one group with the defaults. ``state[p]`` keeps what
the method remembers about parameter ``p`` between steps (momentum buffers, moments).

Updates work on the raw backend arrays (``p.data``, ``p.grad``) in place, so they run the
same on NumPy and CuPy and never record a graph.
"""
from __future__ import annotations

from minigrad.tensor import Tensor


class Optimizer:
    """Base class: subclasses implement ``step()``."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        name = type(self).__name__
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty list of parameters; pass model.parameters()")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        seen = set()
        for group in groups:
            group = dict(group)
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not isinstance(p, Tensor):
                    raise TypeError(f"{name}: parameters must be Tensors (model.parameters()), "
                                    f"got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError(f"{name}: a parameter appears twice in the parameter list")
                seen.add(id(p))
            unknown = set(group) - set(self.defaults) - {"params"}
            if unknown:
                raise TypeError(f"{name}: unknown option(s) {sorted(unknown)} in a parameter group; "
                                f"valid: {sorted(self.defaults)}")
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            self.param_groups.append(group)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``p.grad = None``), as torch does by default."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure=None):
        raise NotImplementedError

    def _with_grads(self, group):
        """The parameters of ``group`` that received a gradient in the last backward."""
        return (p for p in group["params"] if p.grad is not None)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines + [")"])


def check_non_negative(name: str, **values) -> None:
    """Raise a ValueError naming the optimizer and the option when a value is negative."""
    for key, value in values.items():
        if value < 0:
            raise ValueError(f"{name}: {key} must be >= 0, got {value}")
