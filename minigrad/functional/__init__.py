"""Every differentiable function of the engine, written out as forward and backward in
plain array code. ``import minigrad.functional as F``; ``F.conv2d(x, w, b, padding=1)``.

One module per family: arithmetic, reductions, shape, elementwise, activations, linear,
losses, conv, pooling, resample, normalization, dropout, style.
"""
from minigrad.functional.activations import (
    RELU_MODES, current_relu_mode, leaky_relu, log_softmax, relu, relu_mode, softmax)
from minigrad.functional.arithmetic import add, div, matmul, mul, neg, pow, sub
from minigrad.functional.conv import conv2d, conv_transpose2d
from minigrad.functional.linear import linear
from minigrad.functional.fft_conv import conv2d_fft
from minigrad.functional.losses import cross_entropy, mse
from minigrad.functional.normalization import batch_norm, instance_norm, local_response_norm
from minigrad.functional.dropout import dropout
from minigrad.functional.style import gram_matrix, total_variation
from minigrad.functional.elementwise import abs, clip, exp, log, sigmoid, sqrt, tanh
from minigrad.functional.reductions import max, mean, sum
from minigrad.functional.shape import concat, flatten, getitem, permute, reshape, roll, stack, transpose
from minigrad.functional.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from minigrad.functional.resample import pad, upsample_nearest2d
