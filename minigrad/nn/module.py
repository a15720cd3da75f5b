"""Modules: tensors of parameters and state, grouped into a tree.

A :class:`Module` finds its parameters, buffers and sub-modules from its attributes, in the
order they were assigned, and names them with dotted paths (``features.0.weight``), the
same names torch uses, so state dicts map one to one.
"""
from __future__ import annotations

from collections import OrderedDict

import backends
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a learnable parameter of a module (``requires_grad`` by default)."""

    def __init__(self, data, requires_grad: bool = True, **kwargs):
        super().__init__(data, requires_grad=requires_grad, **kwargs)


class Module:
    """Base class of every layer and network: subclass, assign parameters and sub-modules in
    ``__init__``, and implement ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if name in self._buffers and (value is None or (isinstance(value, Tensor)
                                                        and not isinstance(value, Parameter))):
            self._buffers[name] = value  # assigning to a buffer keeps it a buffer, as in torch
            object.__setattr__(self, name, value)
            return
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value) -> None:
        """Keep ``value`` (a Tensor or None) as non-learnable state saved in the state dict
        (running means of batch norm, for example)."""
        object.__setattr__(self, name, value)
        self._buffers[name] = value

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    # ------------------------------------------------------------------ traversal
    def children(self):
        return iter(self._modules.values())

    def named_children(self):
        return iter(self._modules.items())

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True):
        """Yield (dotted name, module) for this module and every descendant, depth first
        (pre-order, as torch). A module reachable twice is yielded once unless
        ``remove_duplicate=False``."""
        stack, seen = [(prefix, self)], set()
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child}" if name else child, m) for child, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_parameters(self, remove_duplicate: bool = True):
        """Yield (dotted name, parameter); a shared (tied) parameter once unless
        ``remove_duplicate=False``."""
        yield from self._named_members("_parameters", remove_duplicate)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", remove_duplicate)

    def _named_members(self, registry: str, remove_duplicate: bool):
        seen = set()
        for name, module in self.named_modules(remove_duplicate=remove_duplicate):
            for member_name, t in getattr(module, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{name}.{member_name}" if name else member_name), t

    def get_submodule(self, name: str) -> "Module":
        module = self
        for part in name.split(".") if name else []:
            if part not in module._modules:
                raise KeyError(f"{type(self).__name__} has no sub-module {name!r}")
            module = module._modules[part]
        return module

    # ------------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, object]":
        """Parameters and buffers by dotted name, as backend arrays (not copies); a shared
        module or parameter appears under each of its names, as in torch."""
        state = OrderedDict((k, p.data) for k, p in self.named_parameters(remove_duplicate=False))
        state.update((k, b.data) for k, b in self.named_buffers(remove_duplicate=False))
        return state

    def load_state_dict(self, state, strict: bool = True):
        """Copy arrays from ``state`` (name -> array) into the parameters and buffers, in place.

        With ``strict`` every name must match in both directions; shapes must always match.
        Everything is checked before anything is written. The values are converted to each
        parameter's backend and dtype, and copied, so the module never shares memory with
        ``state``. Returns (missing keys, unexpected keys).
        """
        own = dict(self.named_parameters(remove_duplicate=False))
        own.update(self.named_buffers(remove_duplicate=False))
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}; "
                           "pass strict=False to load the matching keys only")
        values = {}
        for name, value in state.items():
            if name in own:
                value = value.data if isinstance(value, Tensor) else value
                if tuple(value.shape) != tuple(own[name].shape):
                    raise ValueError(f"load_state_dict: '{name}' has shape {tuple(value.shape)} in the "
                                     f"state dict but {tuple(own[name].shape)} in the module")
                values[name] = value
        for name, value in values.items():
            target = own[name]
            target.data[...] = target.backend.asarray(value)
        return missing, unexpected

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, flag: bool = True) -> "Module":
        """Switch gradients of every parameter on or off (off: the network is frozen, and
        backward computes only what the inputs need)."""
        for p in self.parameters():
            p.requires_grad = flag
        return self

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def to(self, backend) -> "Module":
        """Move every parameter and buffer to ``backend`` ("numpy" or "cupy"), in place."""
        target = backends.get(backend)
        for m in self.modules():
            for registry in (m._parameters, m._buffers):
                for t in registry.values():
                    if t is not None and t.backend is not target:
                        t.data = target.asarray(t.backend.to_numpy(t.data))
                        t.backend = target
                        t.grad = None
        return self

    def astype(self, dtype) -> "Module":
        """Convert every floating parameter and buffer to ``dtype``, in place."""
        for m in self.modules():
            for registry in (m._parameters, m._buffers):
                for t in registry.values():
                    if t is not None and t.dtype.kind == "f":
                        t.data = t.data.astype(dtype)
        return self

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            lines[0] = f"{type(self).__name__}("
            for name, m in self._modules.items():
                body = repr(m).replace("\n", "\n  ")
                lines.append(f"  ({name}): {body}")
            lines.append(")")
            return "\n".join(lines)
        return lines[0] + ")"
