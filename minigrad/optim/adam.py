"""Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015).

For a parameter p with gradient g at step t (t = 1, 2, ...)::

    g   <- g + wd * p                       (L2 weight decay added to the gradient, as torch's
                                             Adam does; this is not AdamW's decoupled decay)
    m   <- beta1 * m + (1 - beta1) * g      (first moment estimate)
    v   <- beta2 * v + (1 - beta2) * g^2    (second raw moment estimate)
    p   <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The last line is Algorithm 1 of the paper with the bias corrections of m and v written out,
and eps added after the correction, exactly as torch computes it.
"""
from __future__ import annotations

import math

from minigrad.autograd_mode import no_grad
from minigrad.optim.optimizer import Optimizer, check_non_negative


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        check_non_negative("Adam", lr=lr, eps=eps, weight_decay=weight_decay)
        if not all(0 <= b < 1 for b in betas) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()`` if given."""
        loss = closure() if closure is not None else None
        with no_grad():
            for group in self.param_groups:
                (beta1, beta2), wd = group["betas"], group["weight_decay"]
                for p in self._with_grads(group):
                    xp = p.backend.xp
                    g = p.grad if wd == 0 else p.grad + wd * p.data
                    state = self.state.setdefault(p, {})
                    if not state:
                        state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
                    state["step"] += 1
                    m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
                    m += (1 - beta1) * (g - m)          # = beta1 * m + (1 - beta1) * g
                    v *= beta2
                    v += (1 - beta2) * (g * g)
                    step_size = group["lr"] / (1 - beta1 ** t)
                    denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
                    p.data -= step_size * (m / denom)
        return loss
