"""Layers with parameters and state, built on :mod:`minigrad.functional`."""
from minigrad.nn.layers import (
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, ConditionalInstanceNorm2d, Conv2d, ConvTranspose2d,
    Dropout, Flatten, InstanceNorm2d, LeakyReLU, Linear, LocalResponseNorm, MaxPool2d, ReflectionPad2d,
    ReLU, Sigmoid, Tanh, Upsample)
from minigrad.nn.module import Module, Parameter
from minigrad.nn.sequential import Sequential

__all__ = ["Module", "Parameter", "Sequential", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d",
           "ConditionalInstanceNorm2d", "Conv2d", "ConvTranspose2d", "Dropout", "Flatten",
           "InstanceNorm2d", "LeakyReLU", "Linear", "LocalResponseNorm", "MaxPool2d", "ReflectionPad2d",
           "ReLU", "Sigmoid", "Tanh", "Upsample"]
