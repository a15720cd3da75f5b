"""Layers with parameters and state, built on :mod:`minigrad.functional`."""
from minigrad.nn.module import Module, Parameter
from minigrad.nn.sequential import Sequential

__all__ = ["Module", "Parameter", "Sequential"]
