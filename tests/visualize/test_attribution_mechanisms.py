"""Integrated gradients, SmoothGrad and Grad-CAM as functions: quadrature, completeness, the
SmoothGrad average over the same noise draws, batching and its memory, and bad inputs."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from minigrad.tensor import Tensor
from visualize.gradients import backprop_class, gradient_batches, to_pixel_layout
from visualize.methods.grad_cam import bilinear_matrix, grad_cam
from visualize.methods.integrated_gradients import baseline_image, integrated_gradients, quadrature
from visualize.methods.smoothgrad import noise_generators, noise_scale, smoothgrad


@pytest.fixture(autouse=True)
def frozen(mnist_net, vgg_small):
    """The functions expect a frozen network (as every Method makes it): the backward pass then
    computes only the input gradient, not the weights'."""
    for net in (mnist_net, vgg_small):
        net.requires_grad_(False)


@pytest.mark.parametrize("rule", ["gauss-legendre", "riemann-left", "riemann-right", "riemann-middle",
                                  "riemann-trapezoid"])
def test_quadrature_integrates_polynomials(rule):
    """Weights sum to 1; Gauss-Legendre with m points is exact up to degree 2m - 1, the
    midpoint and trapezoid rules converge as 1/m^2, left and right as 1/m."""
    for steps in (4, 16):
        a, w = quadrature(rule, steps)
        assert np.isclose(w.sum(), 1) and np.all((a >= 0) & (a <= 1))
        error = abs(w @ a ** 5 - 1 / 6)
        if rule == "gauss-legendre":
            assert error < 1e-14
        else:
            order = 1 if rule in ("riemann-left", "riemann-right") else 2
            assert error < 2 / steps ** order


def test_completeness_on_trained_mnist(trained_mnist, held_out_digits):
    """Sum of attributions = F(x) - F(black) within 1% at 64 Gauss-Legendre points (measured
    on 4 held-out digits here; ``minigrad attribution-score`` reports it on 100)."""
    images, labels = held_out_digits
    trained_mnist.requires_grad_(False)
    alphas, weights = quadrature("gauss-legendre", 64)
    errors = []
    for image, label in zip(images[:4], labels[:4]):
        x = trained_mnist.preprocess(image)
        black = trained_mnist.preprocess(np.zeros((28, 28, 3), np.float32))
        ig = integrated_gradients(trained_mnist, x, black, int(label), alphas, weights)
        assert ig.passes == 1 and abs(ig.score - ig.baseline_score) > 1
        errors.append(ig.completeness_error)
    print(f"\nIG completeness error, 64 Gauss-Legendre points, 4 digits: mean {np.mean(errors):.2e}, "
          f"max {np.max(errors):.2e}")
    assert max(errors) < 0.01
    coarse = integrated_gradients(trained_mnist, x, black, int(label), *quadrature("riemann-left", 2))
    assert coarse.completeness_error > np.mean(errors)          # the error measures the quadrature


def test_batches_give_each_sample_its_own_gradient(mnist_net, held_out_digits):
    images = held_out_digits[0][:5]
    x = mnist_net.preprocess(images)
    chunks = list(gradient_batches(mnist_net, lambda lo, hi: x.data[lo:hi], 5, 4, batch_size=2))
    assert [c[0] for c in chunks] == [slice(0, 2), slice(2, 4), slice(4, 5)]
    grads = np.concatenate([c[1] for c in chunks])
    for i, image in enumerate(images):
        one = backprop_class(mnist_net, mnist_net.preprocess(image), 4).gradient
        np.testing.assert_allclose(to_pixel_layout(mnist_net, grads[i:i + 1])[0, ..., 0] / 0.3081, one[..., 0],
                                   rtol=1e-5, atol=1e-6 * np.abs(one).max())


@pytest.mark.parametrize("underlying, squared", [("saliency", False), ("guided-backprop", True),
                                                 ("integrated-gradients", False)])
def test_smoothgrad_is_the_mean_over_the_same_draws(mnist_net, held_out_digits, underlying, squared):
    net, image = mnist_net, held_out_digits[0][3]
    x = net.preprocess(image)
    baseline = net.preprocess(np.zeros((28, 28, 3), np.float32))
    alphas, weights = quadrature("gauss-legendre", 4)
    n = 3 if underlying == "integrated-gradients" else 5
    out = smoothgrad(net, x, 2, n, 0.2, np.random.default_rng(7), underlying, squared, batch_size=2,
                     baseline=baseline, alphas=alphas, weights=weights)
    scale = noise_scale(net, x, 0.2)
    maps = []
    for gen in noise_generators(np.random.default_rng(7), n):
        noisy = Tensor((x.numpy() + scale * gen.standard_normal(x.shape[1:])).astype(np.float32))
        if underlying == "integrated-gradients":
            m = to_pixel_layout(net, integrated_gradients(net, noisy, baseline, 2, alphas, weights).attributions[None])[0]
        else:
            m = backprop_class(net, noisy, 2, relu="guided" if squared else "normal").gradient
        maps.append(m * m if squared else m)
    reference = np.mean(maps, axis=0)
    np.testing.assert_allclose(out.mean, reference, rtol=1e-4, atol=1e-5 * np.abs(reference).max())
    assert out.passes == (3 if underlying != "integrated-gradients" else 3 * 2)   # chunks of 2 copies / 2 points
    plain = backprop_class(net, x, 2).gradient
    assert not np.allclose(out.mean, plain * plain if squared else plain, atol=1e-3 * np.abs(plain).max())


def test_smoothgrad_does_not_depend_on_the_chunk_size(mnist_net, held_out_digits):
    x = mnist_net.preprocess(held_out_digits[0][0])
    a = smoothgrad(mnist_net, x, 1, 6, 0.15, np.random.default_rng(1), batch_size=6).mean
    b = smoothgrad(mnist_net, x, 1, 6, 0.15, np.random.default_rng(1), batch_size=4).mean
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(a).max())


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_smoothgrad_memory_is_bounded_by_the_chunk(vgg_small):
    """50 noisy copies on VGG-16 in chunks of 10: five batched passes, and the peak memory
    allocated (NumPy reports to tracemalloc) stays within 1.3 x that of a run with one chunk of
    10 (the bound), while 50 copies in one chunk need several times more."""
    x = vgg_small.preprocess(np.random.default_rng(0).random((32, 32, 3), dtype=np.float32))
    run = lambda n, b: smoothgrad(vgg_small, x, 3, n, 0.15, np.random.default_rng(0), batch_size=b)  # noqa: E731
    passes = []
    one_chunk = _peak_bytes(lambda: run(10, 10))
    fifty = _peak_bytes(lambda: passes.append(run(50, 10).passes))
    unbatched = _peak_bytes(lambda: run(50, 50))
    print(f"\nSmoothGrad VGG-16 32x32 peak allocation: 10 copies / chunk 10 {one_chunk / 2**20:.1f} MiB, "
          f"50 / 10 {fifty / 2**20:.1f} MiB, 50 / 50 {unbatched / 2**20:.1f} MiB")
    assert passes == [5]
    assert fifty <= 1.3 * one_chunk
    assert unbatched > 2.5 * one_chunk


def test_bilinear_matrix_is_an_interpolation():
    m = bilinear_matrix(7, 28)
    assert np.allclose(m.sum(axis=1), 1) and np.allclose(m @ np.arange(7.0), np.clip((np.arange(28) + 0.5) / 4 - 0.5, 0, 6))


def test_bad_inputs_give_clear_messages(mnist_net, held_out_digits):
    x = mnist_net.preprocess(held_out_digits[0][0])
    with pytest.raises(ValueError, match="feature maps.*fc1.*relu2_2"):
        grad_cam(mnist_net, x, "fc1", 3)
    with pytest.raises(ValueError, match="steps >= 1.*got 0"):
        quadrature("gauss-legendre", 0)
    with pytest.raises(ValueError, match="unknown quadrature rule 'simpson'"):
        quadrature("simpson", 8)
    with pytest.raises(ValueError, match="sigma.*>= 0, got -0.1"):
        smoothgrad(mnist_net, x, 3, 4, -0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"baseline has shape \(14, 14, 3\).*\(28, 28, 3\)"):
        baseline_image(mnist_net, mnist_net.deprocess(x), np.zeros((14, 14, 3)), np.random.default_rng(0))
