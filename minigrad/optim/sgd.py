"""Stochastic gradient descent with momentum, weight decay and Nesterov momentum.

For a parameter p with gradient g, learning rate lr, weight decay wd, momentum mu and
dampening tau, one step is (torch's formulation; Sutskever et al. 2013 for Nesterov)::

    g <- g + wd * p                                  (L2 weight decay)
    b <- g                         at the first step
    b <- mu * b + (1 - tau) * g    afterwards        (the momentum buffer, "velocity")
    g <- g + mu * b   if nesterov  else   g <- b
    p <- p - lr * g

Without momentum this is plain gradient descent, p <- p - lr * (g + wd * p).
"""
from __future__ import annotations

from minigrad.autograd_mode import no_grad
from minigrad.optim.optimizer import Optimizer, check_non_negative


class SGD(Optimizer):
    """``SGD(params, lr=0.01, momentum=0, dampening=0, weight_decay=0, nesterov=False)``."""

    def __init__(self, params, lr=0.01, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        check_non_negative("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = closure() if closure is not None else None
        with no_grad():
            for group in self.param_groups:
                lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
                for p in self._with_grads(group):
                    g = p.grad if wd == 0 else p.grad + wd * p.data
                    if mu != 0:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = state["momentum_buffer"] = g.copy()
                        else:
                            buf *= mu
                            buf += (1 - group["dampening"]) * g
                        g = g + mu * buf if group["nesterov"] else buf
                    p.data -= lr * g
        return loss
