"""Optimizers that update :class:`~minigrad.nn.Parameter` arrays in place.

    opt = minigrad.optim.Adam(model.parameters(), lr=1e-3)
    opt.zero_grad(); loss.backward(); opt.step()

SGD (momentum, weight decay, Nesterov), Adam, L-BFGS (``step(closure)``, fixed step or
strong-Wolfe line search) and a step learning-rate schedule, with torch's semantics.
"""
from minigrad.optim.adam import Adam
from minigrad.optim.lbfgs import LBFGS
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.scheduler import StepLR
from minigrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "LBFGS", "StepLR"]
