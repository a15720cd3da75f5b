"""The differentiable pieces of visualize.optvis, checked by float64 central finite
differences (minigrad.gradcheck) over hypothesis-drawn shapes: the affine resampling op, the
Gaussian blur, the inverse real FFT, the three parameterizations, the transforms, the
regularizers and the way from the image space to the network input. And the Fourier
parameterization's exact inverse."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backends
import models
from minigrad import gradcheck
from minigrad.tensor import Tensor
from visualize.optvis import param, regularizers, space, transforms
from visualize.optvis.blur import gaussian_blur
from visualize.optvis.objectives import IMAGE
from visualize.optvis.resample import affine_resample, centred_matrix, resize
from visualize.optvis.spectral import irfft2, rfft2

FEW = settings(max_examples=6, deadline=None)
sizes = st.integers(2, 7)
seeds = st.integers(0, 2 ** 31 - 1)


def leaf(array):
    return Tensor(backends.current().asarray(np.asarray(array, dtype=np.float64)), requires_grad=True)


def host(t):
    return t.numpy() if isinstance(t, Tensor) else np.asarray(t)


@FEW
@given(h=sizes, w=sizes, ho=sizes, wo=sizes, seed=seeds, padding=st.sampled_from(["border", "zeros"]))
def test_affine_resample_gradcheck(h, w, ho, wo, seed, padding):
    rng = np.random.default_rng(seed)
    matrix = np.array([[rng.uniform(0.5, 1.5), rng.uniform(-0.5, 0.5), rng.uniform(-1, 2)],
                       [rng.uniform(-0.5, 0.5), rng.uniform(0.5, 1.5), rng.uniform(-1, 2)]])
    x = leaf(rng.standard_normal((2, 1, h, w)))
    assert gradcheck(lambda t: affine_resample(t, matrix, (ho, wo), padding), [x])


def test_affine_resample_identity_resize_and_rotation():
    """The identity map returns the image, a resize by 2 then back by 1/2 (pixel centres
    aligned) reproduces a linear ramp exactly away from the clamped border, and a 90-degree rotation about the centre is
    np.rot90."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5))
    t = Tensor(x)
    assert np.allclose(host(affine_resample(t, [[1, 0, 0], [0, 1, 0]])), x)
    ramp = Tensor(np.tile(np.arange(8.0), (1, 1, 8, 1)))
    up = resize(ramp, (16, 16))
    assert np.allclose(host(resize(up, (8, 8)))[..., 1:-1], ramp.numpy()[..., 1:-1])   # border: clamped
    rotated = host(affine_resample(t, centred_matrix((5, 5), degrees=90)))
    assert np.allclose(rotated, np.rot90(x, k=1, axes=(2, 3))) or \
        np.allclose(rotated, np.rot90(x, k=-1, axes=(2, 3)))


@FEW
@given(h=st.integers(3, 7), w=st.integers(3, 7), sigma=st.floats(0.3, 2.0), seed=seeds)
def test_gaussian_blur_gradcheck_and_mean(h, w, sigma, seed):
    x = leaf(np.random.default_rng(seed).standard_normal((1, 2, h, w)))
    assert gradcheck(lambda t: gaussian_blur(t, sigma), [x])
    constant = Tensor(np.full((1, 1, h, w), 0.3))
    assert np.allclose(host(gaussian_blur(constant, sigma)), 0.3)


@FEW
@given(h=sizes, w=sizes, seed=seeds)
def test_irfft2_gradcheck_and_inverse(h, w, seed):
    rng = np.random.default_rng(seed)
    spectrum = leaf(rng.standard_normal((2, h, w // 2 + 1, 2)))
    assert gradcheck(lambda s: irfft2(s, (h, w)), [spectrum])
    image = rng.standard_normal((2, h, w))
    assert np.allclose(host(irfft2(Tensor(rfft2(image)), (h, w))), image, atol=1e-12)


@FEW
@given(h=sizes, w=sizes, c=st.sampled_from([1, 3]), seed=seeds)
def test_fourier_parameterization_gradcheck(h, w, c, seed):
    p = param.Fourier.random((1, c, h, w), np.random.default_rng(seed), std=0.5, dtype="float64")
    assert gradcheck(lambda s: _fourier_image(p, s), [p.spectrum])


def _fourier_image(p, spectrum):
    p.spectrum = spectrum
    return p()


@FEW
@given(h=sizes, w=sizes, c=st.sampled_from([1, 3]), seed=seeds)
def test_fourier_maps_back_and_forth_exactly(h, w, c, seed):
    """image -> parameter -> image, and parameter -> image -> parameter, to float64 rounding."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(0.02, 0.98, (1, c, h, w))
    p = param.Fourier.from_image(image, dtype="float64")
    assert np.abs(p.image() - image).max() < 1e-12
    q = param.Fourier.random((1, c, h, w), rng, std=1.0, dtype="float64")
    back = param.Fourier.from_image(q.image(), dtype="float64")
    assert np.abs(back.spectrum.numpy() - q.spectrum.numpy()).max() < 1e-9 * max(1.0, np.abs(q.spectrum.numpy()).max())


@FEW
@given(h=st.integers(2, 9), w=st.integers(2, 9), levels=st.integers(1, 3), seed=seeds)
def test_pyramid_parameterization_gradcheck(h, w, levels, seed):
    p = param.Pyramid.random((1, 1, h, w), np.random.default_rng(seed), levels=levels, std=0.5, dtype="float64")
    for k in range(levels):
        def image(level, k=k):
            p.levels[k] = level
            return p()
        assert gradcheck(image, [p.levels[k]])


@FEW
@given(size=st.integers(4, 8), seed=seeds, which=st.sampled_from(["jitter", "scale", "rotate", "pad", "standard"]))
def test_transforms_gradcheck(size, seed, which):
    """Each transform, with its random draw fixed by a seed, is differentiable."""
    t = {"jitter": transforms.jitter(2), "scale": transforms.random_scale([0.8, 1.2]),
         "rotate": transforms.random_rotate([-15, 10]), "pad": transforms.pad(2),
         "standard": transforms.standard(unit=0.2)}[which]
    x = leaf(np.random.default_rng(seed).standard_normal((1, 1, size, size)))
    assert gradcheck(lambda v: t(v, np.random.default_rng(seed)), [x])


@FEW
@given(h=st.integers(2, 6), w=st.integers(2, 6), beta=st.sampled_from([1.0, 1.5, 2.0]),
       alpha=st.sampled_from([2.0, 6.0]), seed=seeds)
def test_regularizers_gradcheck(h, w, beta, alpha, seed):
    x = leaf(np.random.default_rng(seed).uniform(0, 1, (1, 2, h, w)))
    for obj in (regularizers.total_variation(beta), regularizers.alpha_norm(alpha, center=0.4),
                regularizers.l2(center=[0.2, 0.6])):
        assert gradcheck(lambda v: obj({IMAGE: v}), [x])


def test_total_variation_beta_2_is_the_squared_differences():
    x = np.random.default_rng(1).uniform(0, 1, (1, 1, 4, 5))
    dv, dh = x[..., 1:, :-1] - x[..., :-1, :-1], x[..., :-1, 1:] - x[..., :-1, :-1]
    got = regularizers.total_variation(2.0)({IMAGE: Tensor(x)}).item()
    assert got == pytest.approx((dv ** 2 + dh ** 2).mean(), rel=1e-12)


@pytest.mark.parametrize("arch", ["mnist_cnn", "alexnet"])
def test_to_input_matches_preprocess_and_inverts(arch):
    net = models.build(arch, seed=0)
    c = space.channels(net)
    h, w = net.preprocessing.input_size
    picture = np.random.default_rng(2).uniform(0, 1, (h, w, 3)).astype(np.float32)
    image = space.image_of(net, picture)
    assert image.shape == (1, c, h, w)
    assert np.allclose(space.to_input(net, Tensor(image)).numpy(), net.preprocess(picture).numpy(), atol=1e-5)
    x = leaf(np.random.default_rng(3).uniform(0, 1, (1, c, 3, 3)))
    assert gradcheck(lambda v: space.to_input(net, v), [x])


@pytest.mark.torch
@pytest.mark.parametrize("size, out", [((5, 7), (11, 4)), ((8, 8), (16, 16)), ((9, 6), (3, 5))])
def test_resize_matches_torch_bilinear(torch, size, out):
    """Our resize is torch's bilinear interpolate with align_corners=False (no antialias),
    forward and backward, in float64."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((2, 3) + size), rng.standard_normal((2, 3) + out)
    ours = leaf(x)
    y = resize(ours, out)
    y.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, size=out, mode="bilinear", align_corners=False)
    ty.backward(torch.tensor(g))
    assert np.allclose(host(y), ty.detach().numpy(), atol=1e-12)
    assert np.allclose(host(ours.grad), tx.grad.numpy(), atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("h, w", [(4, 6), (5, 5), (3, 8)])
def test_irfft2_matches_torch(torch, h, w):
    rng = np.random.default_rng(1)
    s, g = rng.standard_normal((2, h, w // 2 + 1, 2)), rng.standard_normal((2, h, w))
    ours = leaf(s)
    y = irfft2(ours, (h, w))
    y.backward(g)
    ts = torch.tensor(s, requires_grad=True)
    ty = torch.fft.irfft2(torch.view_as_complex(ts), s=(h, w))
    ty.backward(torch.tensor(g))
    assert np.allclose(host(y), ty.detach().numpy(), atol=1e-12)
    assert np.allclose(host(ours.grad), ts.grad.numpy(), atol=1e-12)
