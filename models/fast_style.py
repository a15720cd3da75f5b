"""Fast neural style: a feed-forward image transformation network trained once per set of
styles, so that stylizing is one forward pass (Johnson, Alahi & Fei-Fei 2016), with instance
normalization (Ulyanov, Vedaldi & Lempitsky 2016) made conditional on the style (Dumoulin,
Shlens & Kudlur 2017): one network for many paintings, and mixtures of them.

The network (Johnson et al.'s, from their supplementary material, at the widths
``(c1, c2, c3)``; theirs are 32, 64, 128)::

    reflect-pad 4, conv 9x9  3 -> c1,           CIN, ReLU        H x W
    reflect-pad 1, conv 3x3 c1 -> c2, stride 2, CIN, ReLU        H/2
    reflect-pad 1, conv 3x3 c2 -> c3, stride 2, CIN, ReLU        H/4
    5 residual blocks:  x + CIN(conv(ReLU(CIN(conv(x)))))        (3x3, reflect-pad 1)
    nearest x2, reflect-pad 1, conv 3x3 c3 -> c2, CIN, ReLU      H/2
    nearest x2, reflect-pad 1, conv 3x3 c2 -> c1, CIN, ReLU      H
    reflect-pad 4, conv 9x9 c1 -> 3, sigmoid                     the image in [0, 1]

Upsampling is a nearest-neighbour resize followed by a convolution rather than a strided
transposed convolution, which avoids checkerboard artefacts (Odena, Dumoulin & Olah,
"Deconvolution and Checkerboard Artifacts", Distill 2016); reflection padding avoids dark
borders; the output goes through a sigmoid (Dumoulin et al.; Johnson et al. scale a tanh). Every normalization is a conditional instance norm
(CIN): with mu, sigma the mean and standard deviation of one sample's channel over H, W,

    CIN(x; s) = gamma_s (x - mu) / sigma + beta_s

and one pair (gamma_s, beta_s) per style s and channel. Styles are mixed by a convex
combination of the pairs, (gamma, beta) = sum_s w_s (gamma_s, beta_s) with w_s >= 0 and
sum_s w_s = 1 (Dumoulin et al.'s style interpolation); a one-hot w is a single style.

The input is the image in [0, 1] (RGB, any size with sides of at least :data:`MIN_SIDE`);
:func:`stylize` pads it by reflection to a multiple of 4 and crops the output back.

Weights files (``weights/fast_style.h5``) are HDF5: root attributes ``format`` =
:data:`FORMAT`, ``styles`` (the style names in index order), ``widths``, ``residual_blocks``
and the training record (command, seed, duration, losses), and one float32 dataset per
state-dict key. :func:`load` checks every shape and value before building the network.

J. Johnson, A. Alahi, L. Fei-Fei. "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution." ECCV 2016. D. Ulyanov, A. Vedaldi, V. Lempitsky. "Instance Normalization:
The Missing Ingredient for Fast Stylization." arXiv:1607.08022. V. Dumoulin, J. Shlens,
M. Kudlur. "A Learned Representation For Artistic Style." ICLR 2017.
"""
from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections import OrderedDict

import h5py
import numpy as np

import backends
from minigrad import functional as F
from minigrad import nn, no_grad
from minigrad.tensor import Tensor
from models.atomic import atomic_path
from models.hdf5_weights import WeightsValidationError
from models.network import image_pixels

__all__ = ["FastStyleNet", "stylize", "rgb_pixels", "mixing_weights", "parse_mix", "check_mix", "resolve_style",
           "save", "load", "FORMAT", "WIDTHS", "RESIDUAL_BLOCKS", "MIN_SIDE"]

FORMAT = "minigrad-fast-style"
FORMAT_VERSION = 1
WIDTHS = (16, 32, 64)        # narrower than Johnson's (32, 64, 128): trained on 2 CPU cores
RESIDUAL_BLOCKS = 5
MIN_SIDE = 8                 # the two stride-2 stages leave 2 x 2 at 8 px
MAX_STYLES = 256
MAX_WIDTH = 1024
_SUM_TOLERANCE = 1e-6


class ConvCIN(nn.Module):
    """Reflect-pad k // 2, convolution (stride s), conditional instance norm, optional ReLU;
    an optional nearest x2 upsampling first."""

    def __init__(self, cin, cout, kernel, num_styles, stride=1, relu=True, upsample=False, rng=None):
        super().__init__()
        self.upsample, self.relu = upsample, relu
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, rng=rng)
        self.norm = nn.ConditionalInstanceNorm2d(cout, num_styles)

    def forward(self, x, style):
        if self.upsample:
            x = F.upsample_nearest2d(x, scale_factor=2)
        y = self.norm(self.conv(self.pad(x)), style)
        return F.relu(y) if self.relu else y


class Residual(nn.Module):
    """x + CIN(conv(ReLU(CIN(conv(x))))), 3x3 convolutions (Johnson et al.'s residual block,
    without the crop: reflection padding keeps the size)."""

    def __init__(self, channels, num_styles, rng=None):
        super().__init__()
        self.block1 = ConvCIN(channels, channels, 3, num_styles, rng=rng)
        self.block2 = ConvCIN(channels, channels, 3, num_styles, relu=False, rng=rng)

    def forward(self, x, style):
        return x + self.block2(self.block1(x, style), style)


class FastStyleNet(nn.Module):
    """The transformation network for ``styles`` (names, in index order); see the module
    docstring. ``forward(x, style)``: x (N, 3, H, W) in [0, 1] with H, W multiples of 4,
    ``style`` (N,) integer indices or (N, S) mixing weights; returns (N, 3, H, W) in (0, 1)."""

    def __init__(self, styles, widths=WIDTHS, residual_blocks=RESIDUAL_BLOCKS, rng=None):
        super().__init__()
        styles, widths = tuple(str(s) for s in styles), tuple(int(w) for w in widths)
        if not styles or len(set(styles)) != len(styles):
            raise ValueError(f"FastStyleNet: styles must be distinct names, at least one, got {list(styles)}")
        if len(widths) != 3 or min(widths) < 1:
            raise ValueError(f"FastStyleNet: widths must be three positive channel counts, got {widths}")
        if residual_blocks < 0:
            raise ValueError(f"FastStyleNet: residual_blocks must be >= 0, got {residual_blocks}")
        self.styles, self.widths, self.residual_blocks = styles, widths, int(residual_blocks)
        rng = rng if rng is not None else np.random.default_rng(0)
        c1, c2, c3, s = *widths, len(styles)
        self.down = nn.Sequential(OrderedDict(
            conv1=ConvCIN(3, c1, 9, s, rng=rng),
            conv2=ConvCIN(c1, c2, 3, s, stride=2, rng=rng),
            conv3=ConvCIN(c2, c3, 3, s, stride=2, rng=rng)))
        self.residual = nn.Sequential(OrderedDict(
            (f"res{i + 1}", Residual(c3, s, rng=rng)) for i in range(self.residual_blocks)))
        self.up = nn.Sequential(OrderedDict(
            up1=ConvCIN(c3, c2, 3, s, upsample=True, rng=rng),
            up2=ConvCIN(c2, c1, 3, s, upsample=True, rng=rng)))
        self.out_pad = nn.ReflectionPad2d(4)
        self.out = nn.Conv2d(c1, 3, 9, rng=rng)

    def forward(self, x, style):
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"FastStyleNet: input must be (N, 3, H, W) with H and W multiples of 4, got "
                             f"{tuple(x.shape)}; stylize() pads any image")
        for stage in (self.down, self.residual, self.up):
            for layer in stage:
                x = layer(x, style)
        return F.sigmoid(self.out(self.out_pad(x)))

    def extra_repr(self):
        return f"styles={list(self.styles)}, widths={self.widths}, residual_blocks={self.residual_blocks}"


# ---------------------------------------------------------------------------------- styles
def _canonical(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def resolve_style(name, styles) -> int:
    """The index of style ``name`` in ``styles``: exact, or with '-'/' ' read as '_', or a
    unique prefix ("great-wave" for "great_wave_off_kanagawa"); a KeyError naming the trained
    styles (and the closest ones) otherwise."""
    canon = [_canonical(s) for s in styles]
    key = _canonical(name)
    if key in canon:
        return canon.index(key)
    matches = [i for i, c in enumerate(canon) if key and c.startswith(key)]
    if len(matches) == 1:
        return matches[0]
    trained = ", ".join(styles)
    if matches:
        raise KeyError(f"style {name!r} is ambiguous: it starts {', '.join(styles[i] for i in matches)}; "
                       f"give more of the name (trained styles: {trained})")
    close = difflib.get_close_matches(key, canon, n=2, cutoff=0.5)
    hint = f" (did you mean {' or '.join(styles[canon.index(c)] for c in close)}?)" if close else ""
    raise KeyError(f"style {name!r}: this model was not trained with it{hint}. It knows: {trained}. "
                   f"Train a model with it: minigrad train fast-style --styles ...")


def parse_mix(text: str) -> list:
    """``"0.7:starry_night,0.3:great_wave"`` -> [(0.7, "starry_night"), (0.3, "great_wave")];
    a bare name means weight 1 ("starry_night"). The weights are checked as
    :func:`check_mix` says; the names only against a model (:func:`mixing_weights`)."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p for p in parts):
        raise ValueError(f"--style {text!r}: expected NAME or W:NAME,W:NAME,... (like "
                         "0.7:starry_night,0.3:great_wave_off_kanagawa)")
    mix = []
    for part in parts:
        weight, sep, name = part.partition(":")
        if not sep:
            if len(parts) > 1:
                raise ValueError(f"--style {text!r}: {part!r} has no weight; write W:NAME for every style of a "
                                 "mix (0.7:starry_night,0.3:the_scream)")
            mix.append((1.0, part))
            continue
        try:
            w = float(weight)
        except ValueError:
            raise ValueError(f"--style {text!r}: the weight {weight!r} of {name!r} is not a number") from None
        if not name.strip():
            raise ValueError(f"--style {text!r}: {part!r} has no style name after the ':'")
        mix.append((w, name.strip()))
    return check_mix(mix)


def check_mix(mix) -> list:
    """``mix`` ([(weight, name or index), ...]) if its weights are a convex combination:
    finite, non-negative, summing to 1 (within 1e-6); a ValueError saying how to fix them
    otherwise. Other weights would extrapolate beyond every painting."""
    mix = [(float(w), name) for w, name in mix]
    for w, name in mix:
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"mixing weight {w:g} of {name!r} must be a non-negative number: a mix is a convex "
                             "combination of styles (weights >= 0 summing to 1)")
    total = sum(w for w, _ in mix)
    if abs(total - 1.0) > _SUM_TOLERANCE:
        given = " + ".join(f"{w:g}" for w, _ in mix)
        scaled = ",".join(f"{w / total:.3g}:{name}" for w, name in mix if w > 0) if total > 0 else ""
        raise ValueError(f"mixing weights must sum to 1 (a convex combination of styles); {given} = {total:g}"
                         + (f". Scaled to sum 1: {scaled}" if scaled else ""))
    return mix


def mixing_weights(mix, styles) -> np.ndarray:
    """The (S,) convex-combination weights of ``mix`` (a string for :func:`parse_mix`, a
    style name, an index, or [(weight, name or index), ...]) over the trained ``styles``.
    Unknown names raise KeyError, bad weights ValueError (:func:`check_mix`), each saying
    what to give."""
    if isinstance(mix, (int, np.integer)) and not isinstance(mix, bool):
        mix = [(1.0, int(mix))]
    elif isinstance(mix, str):
        mix = parse_mix(mix)
    mix = check_mix(mix)
    weights = np.zeros(len(styles), np.float64)
    seen = set()
    for w, name in mix:
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            if not 0 <= name < len(styles):
                raise KeyError(f"style index {name} is out of range; this model has {len(styles)} styles "
                               f"(0 to {len(styles) - 1}): {', '.join(styles)}")
            index = int(name)
        else:
            index = resolve_style(name, styles)
        if index in seen:
            raise ValueError(f"style {styles[index]!r} appears twice in the mix; give each style once")
        seen.add(index)
        weights[index] = w
    return weights


def rgb_pixels(image) -> np.ndarray:
    """``image`` (H, W), (H, W, 1) or (H, W, 3) as an (H, W, 3) float32 array in [0, 1] (gray
    repeated into the three channels); a ValueError saying what is wrong otherwise (NaN, 0-255
    values, another shape)."""
    img = image_pixels("fast-style", image)     # finite floats in [0, 1], or a ValueError saying why
    img = img[..., None] if img.ndim == 2 else img
    if img.ndim != 3 or img.shape[-1] not in (1, 3):
        raise ValueError(f"stylize: expected an (H, W, 3) or (H, W) image, got shape {img.shape}")
    return np.repeat(img, 3 // img.shape[-1], axis=-1)


def stylize(net: FastStyleNet, image, weights) -> np.ndarray:
    """The (H, W, 3) float32 image in [0, 1] stylized by ``net`` with mixing ``weights`` (S,)
    (from :func:`mixing_weights`). The image is reflect-padded to multiples of 4 and the
    output cropped back, so any size with sides >= :data:`MIN_SIDE` works."""
    img = rgb_pixels(image)
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"stylize: the image is {h} x {w} pixels; fast style needs at least {MIN_SIDE} per side "
                         "(upscale it first)")
    weights = np.asarray(weights, np.float64)
    if weights.shape != (len(net.styles),):
        raise ValueError(f"stylize: weights must have one entry per style ({len(net.styles)}), got {weights.shape}")
    ph, pw = -h % 4, -w % 4
    x = np.pad(img.transpose(2, 0, 1)[None], ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect")
    params = net.parameters()
    backend, dtype = params[0].backend, params[0].dtype
    with no_grad():
        y = net(Tensor(backend.asarray(x.astype(dtype))), Tensor(backend.asarray(weights[None].astype(dtype))))
    out = backend.to_numpy(y.data)[0, :, :h, :w].transpose(1, 2, 0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------- files
def save(net: FastStyleNet, path, meta: dict | None = None) -> str:
    """Write ``net`` to ``path`` (atomic: a temporary file, checked by :func:`load`, then
    moved). ``meta``: JSON-able training record stored as root attributes (strings as they
    are, anything else as JSON)."""
    path = os.fspath(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"], f.attrs["format_version"] = FORMAT, FORMAT_VERSION
            f.attrs["styles"] = json.dumps(list(net.styles))
            f.attrs["widths"] = np.asarray(net.widths, np.int64)
            f.attrs["residual_blocks"] = np.int64(net.residual_blocks)
            for key, value in (meta or {}).items():
                f.attrs[key] = value if isinstance(value, str) else json.dumps(value)
            for key, array in net.state_dict().items():
                data = array.data if isinstance(array, Tensor) else array
                f.create_dataset(key.replace(".", "/"), data=np.asarray(backends.backend_of(data).to_numpy(data),
                                                                         dtype="<f4"))
        load(tmp, shown=path)
    return path


def load(path, shown=None) -> FastStyleNet:
    """The network in the weights file ``path`` (evaluation mode, float32, NumPy), with its
    training record as ``net.metadata``. A file that is not one (a missing attribute, a
    wrong shape, a non-finite value) raises :class:`~models.hdf5_weights.WeightsValidationError`
    naming the file and what is wrong."""
    path, shown = os.fspath(path), os.fspath(shown or path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no fast-style weights at {shown}: train them with `minigrad train fast-style` "
                                "or give the shipped weights/fast_style.h5")

    def bad(why):
        return WeightsValidationError(f"{shown}: not a usable fast-style weights file: {why}")

    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") not in (FORMAT, FORMAT.encode()):
                raise bad(f"root attribute 'format' is {f.attrs.get('format')!r}, expected {FORMAT!r} (a classifier's "
                          "weights go to --model, a fast-style network's to --network)")
            if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
                raise bad(f"format_version {f.attrs.get('format_version')!r}; this reader reads {FORMAT_VERSION}")
            styles = json.loads(f.attrs["styles"])
            widths = tuple(int(w) for w in np.ravel(f.attrs["widths"]))
            blocks = int(f.attrs["residual_blocks"])
            if (not isinstance(styles, list) or not 1 <= len(styles) <= MAX_STYLES
                    or not all(isinstance(s, str) for s in styles)):
                raise bad(f"'styles' must be a list of 1 to {MAX_STYLES} names, got {str(styles)[:80]}")
            if len(widths) != 3 or not all(1 <= w <= MAX_WIDTH for w in widths) or not 0 <= blocks <= 64:
                raise bad(f"widths {widths} / residual_blocks {blocks} out of range")
            net = FastStyleNet(styles, widths, blocks, rng=_Zeros())
            state = {}
            for key, own in net.state_dict().items():
                item = f.get(key.replace(".", "/"))
                shape = tuple(own.shape)
                if not isinstance(item, h5py.Dataset) or item.shape != shape or item.dtype != np.dtype("<f4"):
                    found = "missing" if item is None else f"{getattr(item, 'shape', '?')} {getattr(item, 'dtype', '')}"
                    raise bad(f"'{key}' must be float32 {shape}, found {found}")
                state[key] = item[()]
                if not np.isfinite(state[key]).all():
                    raise bad(f"'{key}' holds NaN or Inf")
            meta = {k: _attr(v) for k, v in f.attrs.items()}
    except WeightsValidationError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise bad(f"{type(exc).__name__}: {exc}") from None
    net.load_state_dict(state)
    net.metadata = meta
    return net.eval().requires_grad_(False)


def _attr(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return np.asarray(value).tolist()


class _Zeros:
    """A generator stand-in whose draws are zeros (the loader replaces every weight)."""

    def uniform(self, low=0.0, high=1.0, size=None):
        return np.zeros(size, np.float64)
