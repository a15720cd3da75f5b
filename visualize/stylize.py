"""Gatys style transfer and Gram-matrix texture synthesis as one run of the optimization loop.

Style transfer (Gatys, Ecker & Bethge 2016) minimizes over the image x

    L(x) = a E_content(x, p) + b E_style(x, {s}) + c TV(x) - d Dream(x)

with E_content and E_style the distances of :mod:`visualize.style_losses` (content features
of the photo p, the blended Gram matrices of the style images s), TV the squared
total variation of :func:`visualize.optvis.regularizers.total_variation` and Dream the
DeepDream term of :func:`visualize.optvis.objectives.dream` (a "style + DeepDream" image when
d > 0). Texture synthesis (Gatys, Ecker & Bethge 2015) is the case without a content image,
started from noise.

The options are those of Justin Johnson's neural-style (https://github.com/jcjohnson/neural-style):
content and style layers and weights, TV weight, init from noise, the content or any image,
L-BFGS or Adam, iterations, output size (longest side), style scale (the style images are
resized to ``style_scale`` times the output size), several styles with blend weights,
original colours, normalized gradients, printing and saving every N iterations; and more:
per-layer style weights, luminance-only transfer (Gatys et al. 2017), coarse-to-fine
resolutions (each scale starts from the previous result resized up) and resuming from a
saved iterate.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from minigrad import no_grad, optim
from models.images import resize
from visualize import style_losses as sl
from visualize.inputs import layer_label, layers_of_type
from visualize.optvis import objectives, regularizers, space
from visualize.optvis.param import Pixels
from visualize.optvis.render import render
from visualize.params import Choice, Float, FloatList, Flag, Int, Text

INITS = ("random", "content", "image")
COLORS = ("off", "recolor", "luminance")


@dataclass
class Stylized:
    """``picture`` (H, W, 3) float32 in [0, 1]; ``iterate`` the image the optimizer ended on
    (unclipped, (H, W, 3), what ``resume`` takes); ``history`` one dict of loss parts per
    printed iteration; ``frames`` [(iteration, picture)] saved every N iterations; ``sizes``
    the (H, W) of each scale."""

    picture: np.ndarray
    iterate: np.ndarray
    history: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    sizes: list = field(default_factory=list)


def rgb(picture) -> np.ndarray:
    """(H, W) gray or (H, W, 3) as (H, W, 3) float32."""
    a = np.asarray(picture, dtype=np.float32)
    return np.repeat(a[..., None], 3, axis=-1) if a.ndim == 2 else a


def fit_longest(picture, longest: int) -> np.ndarray:
    """``picture`` resized (bilinear) so that its longer side is ``longest`` pixels."""
    h, w = picture.shape[:2]
    s = longest / max(h, w)
    return resize(picture, (max(1, round(h * s)), max(1, round(w * s))))


def to_space(model, picture) -> np.ndarray:
    """``picture`` (H, W, 3) or (H, W) as the loop's image space (1, C, H, W) float32: RGB, or
    the luminance for a one-channel network."""
    rgb = np.asarray(picture, dtype=np.float32)
    rgb = np.repeat(rgb[..., None], 3, axis=-1) if rgb.ndim == 2 else rgb
    if space.channels(model) == 1:
        return sl.to_yiq(rgb)[..., 0][None, None].astype(np.float32)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


def from_space(image) -> np.ndarray:
    """The first image of (N, C, H, W) as (H, W, 3) float32, not clipped (gray repeated)."""
    a = np.asarray(image[0], dtype=np.float32).transpose(1, 2, 0)
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def features(model, picture, layers) -> dict:
    """{layer: activation (1, C, H, W) array on the model's backend} of ``picture`` (H, W, 3)
    at its own size (no resize or crop)."""
    with no_grad():
        x = space.to_input(model, space.tensor(model, to_space(model, picture)))
        acts = model.capture(x, layers)
    return {layer: a.data for layer, a in acts.items()}


def gram_targets(model, styles, blend, layers) -> dict:
    """{layer: sum_s b_s G_l(s)}, the blended Gram matrices (C, C) of the style pictures."""
    targets = {}
    for picture, b in zip(styles, blend):
        for layer, a in features(model, picture, layers).items():
            g = sl.gram(space.tensor(model, a)).data[0] * b
            targets[layer] = g if layer not in targets else targets[layer] + g
    return targets


def objective(model, content, styles, blend, *, content_layers, content_weight, style_layers, style_weight,
              layer_weights, tv_weight, normalize, dream_layer, dream_weight):
    """The objective the loop maximizes: -L(x) of the module docstring, at the size of
    ``content`` (None for a texture)."""
    obj = -style_weight * sl.gram_distance(gram_targets(model, styles, blend, style_layers),
                                           dict(zip(style_layers, layer_weights)), normalize)
    if content is not None and content_weight:
        obj = obj - content_weight * sl.content_distance(features(model, content, content_layers), None, normalize)
    if tv_weight:
        obj = obj - tv_weight * regularizers.total_variation(2.0)
    if dream_layer is not None and dream_weight:
        obj = obj + dream_weight * objectives.dream(dream_layer)
    return obj


def _initial(model, kind, content, init_image, size, rng, noise):
    """The starting image (H, W, 3) at ``size``: noise around the dataset mean, the content,
    or ``init_image`` resized."""
    if kind == "content":
        return content
    if kind == "image":
        return resize(np.asarray(init_image, dtype=np.float32), size)
    mean = space.mean_image_value(model)
    return (mean + noise * rng.standard_normal((*size, 3))).astype(np.float32)


def run(model, content, styles, *, blend=None, size=512, content_layers=(), content_weight=1.0,
        style_layers=(), style_weight=10.0, layer_weights=None, tv_weight=0.0, init="content",
        init_image=None, init_noise=0.1, optimizer="lbfgs", lr=None, iterations=500, style_scale=1.0,
        original_colors="off", scales=(1.0,), normalize_gradients=False, dream_layer=None, dream_weight=0.0,
        every=0, resume=None, rng=None, progress=True, on_every=None) -> Stylized:
    """Style transfer of ``content`` (H, W, 3) in [0, 1] in the style of ``styles`` (pictures),
    or a texture when ``content`` is None (see the module docstring for the options).

    ``size``: the output's longest side (a texture is square); ``scales``: fractions of it,
    coarse to fine, each run for ``iterations`` steps; ``every``: keep a frame and call
    ``on_every(scale_index, iteration, parts, picture)`` every N iterations (0: never);
    ``resume``: an iterate (H, W, 3) to start from instead of ``init``; ``lr``: the step size
    (default 1 for L-BFGS, whose line search scales it, and 0.02 for Adam).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    content = None if content is None else rgb(content)
    styles = [rgb(p) for p in styles]
    init_image = None if init_image is None else rgb(init_image)
    content_layers = sl.check_layers(model, content_layers, "--content-layers") if content is not None else ()
    style_layers = sl.check_layers(model, style_layers, "--style-layers")
    layer_weights = sl.check_weights(1.0 if layer_weights is None else layer_weights, len(style_layers),
                                     "--layer-weights")
    for name, value in (("--content-weight", content_weight), ("--style-weight", style_weight),
                        ("--tv-weight", tv_weight), ("--dream-weight", dream_weight)):
        sl.check_weights(value, 1, name)
    blend = sl.blend_weights(blend, len(styles))
    if init not in INITS or original_colors not in COLORS:
        raise ValueError(f"init must be one of {INITS} and original_colors one of {COLORS}")
    if content is None and (init == "content" or original_colors != "off"):
        raise ValueError("a texture has no content image: use init 'random' or 'image' and original_colors 'off'")
    if init == "image" and init_image is None:
        raise ValueError("init 'image' needs an init image (--init-image PATH)")
    if dream_weight and dream_layer is None:
        raise ValueError("--dream-weight needs --dream-layer")
    if dream_layer is not None:
        sl.check_layers(model, (dream_layer,), "--dream-layer")
    luminance_only = original_colors == "luminance"
    lr = (0.02 if optimizer == "adam" else 1.0) if lr is None else lr
    out = Stylized(picture=None, iterate=None)
    image = None if resume is None else np.asarray(resume, dtype=np.float32)
    for index, scale in enumerate(scales):
        longest = max(1, round(size * scale))
        if content is not None:
            c = fit_longest(content, longest)
            hw = c.shape[:2]
        else:
            c, hw = None, (longest, longest)
        style_side = max(1, round(style_scale * longest))
        s = [fit_longest(p, style_side) for p in styles]
        if luminance_only:
            s = [sl.match_luminance(p, c) for p in s]
            c = sl.luminance(c).astype(np.float32)
        obj = objective(model, c, s, blend, content_layers=content_layers, content_weight=content_weight,
                        style_layers=style_layers, style_weight=style_weight, layer_weights=layer_weights,
                        tv_weight=tv_weight, normalize=normalize_gradients, dream_layer=dream_layer,
                        dream_weight=dream_weight)
        start = _initial(model, init, c, init_image, hw, rng, init_noise) if image is None else resize(image, hw)
        param = Pixels(to_space(model, start), backend=space.model_backend(model),
                       dtype=model.parameters()[0].dtype)
        opt = (optim.Adam(param.parameters(), lr=lr) if optimizer == "adam" else
               optim.LBFGS(param.parameters(), lr=lr, max_iter=1, tolerance_grad=0.0, tolerance_change=0.0,
                           line_search_fn="strong_wolfe"))
        done = 0
        while done < iterations:
            chunk = min(every, iterations - done) if every else iterations - done
            result = render(model, obj, param, steps=chunk, optimizer=lambda _: opt, lr=lr, progress=progress,
                            description=f"{'style' if content is not None else 'texture'} {hw[1]}x{hw[0]}")
            done += chunk
            out.history.extend({**h, "scale": index, "step": h["step"] + done - chunk} for h in result.history)
            if every:
                picture = _finish(np.clip(from_space(param.image()), 0.0, 1.0), content, original_colors, hw)
                out.frames.append((index, done, picture))
                if on_every is not None:
                    on_every(index, done, result.history[-1], picture)
        image = from_space(param.image())
        out.sizes.append(hw)
    out.iterate = image.astype(np.float32)
    out.picture = _finish(np.clip(out.iterate, 0.0, 1.0), content, original_colors, out.sizes[-1])
    return out


def _finish(picture, content, original_colors, hw):
    """The picture with the content's colours put back when asked."""
    if original_colors == "off":
        return picture
    return sl.keep_colors(picture, fit_longest(content, max(hw)))


def split_layers(text) -> tuple:
    """"relu1_1, relu2_1" -> ("relu1_1", "relu2_1")."""
    return tuple(part.strip() for part in str(text).split(",") if part.strip())


def default_layers(model) -> tuple:
    """(content layers, style layers) for a net without a preset: every ReLU before the
    classifier for style, the middle one of them for content."""
    paths = [p for p, _ in model.layers()]
    flat = next((i for i, (_, m) in enumerate(model.layers()) if type(m).__name__ == "Flatten"), len(paths))
    relus = [layer_label(model, p) for p in layers_of_type(model, "ReLU") if paths.index(p) < flat]
    if not relus:
        raise ValueError(f"{model.architecture} has no ReLU layer with feature maps; pass --style-layers")
    return (relus[len(relus) // 2],), tuple(relus)


# The hyperparameters Gram texture and style transfer share (neural-style's names where it has one).
STYLE_LAYERS = Text("style_layers", None, "comma-separated layers whose Gram matrices are matched "
                    "(default: the preset, else every ReLU with feature maps)")
LAYER_WEIGHTS = FloatList("layer_weights", None, "one weight per style layer (default: 1 each)", lo=0.0)
STYLE_WEIGHT = Float("style_weight", 10.0, "weight of the style (Gram) distance", lo=0.0)
TV_WEIGHT = Float("tv_weight", 0.0, "weight of the total-variation penalty (mean squared neighbour "
                  "differences)", lo=0.0)
SIZE = Int("size", 512, "longest side of the output in pixels", lo=8, hi=4096)
ITERATIONS = Int("iterations", 500, "optimizer steps at each scale", lo=1, hi=100000)
OPTIMIZER = Choice("optimizer", "lbfgs", "L-BFGS (strong Wolfe line search) or Adam", ("lbfgs", "adam"))
LEARNING_RATE = Float("learning_rate", None, "step size (default: 1 for L-BFGS, 0.02 for Adam)", lo=0.0,
                      lo_open=True)
SCALES = FloatList("scales", (1.0,), "coarse to fine: fractions of --size, each started from the previous "
                   "result resized up (e.g. 0.25,0.5,1)", lo=0.01, hi=1.0)
NORMALIZE = Flag("normalize_gradients", False, "divide each layer's gradient by its L1 norm (neural-style)")
INIT_NOISE = Float("init_noise", 0.1, "standard deviation of the random start around the dataset mean", lo=0.0)
INIT_IMAGE = Text("init_image", None, "image to start from with --init image")
PRINT_EVERY = Int("print_every", 0, "print the loss parts every N iterations (0: never)", lo=0)
SAVE_EVERY = Int("save_every", 0, "save the picture every N iterations as iter_<N>.png beside the "
                 "output (0: never)", lo=0)
RESUME = Text("resume", None, "continue from a saved iterate: the .npz written with --save-arrays "
              "(its 'iterate') or an image file")
STYLE_SCALE = Float("style_scale", 1.0, "style images resized to this times the output size", lo=0.0, lo_open=True)


def load_picture(path, what: str) -> np.ndarray:
    """An image file, or the 'iterate' of an .npz written with --save-arrays, as (H, W, 3)."""
    from pathlib import Path

    from models.images import load_image
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what}: no such file: {str(path)!r}")
    if path.suffix == ".npz":
        with np.load(path) as saved:
            if "iterate" not in saved:
                raise ValueError(f"{what}: {str(path)!r} holds no 'iterate' array (it holds {', '.join(saved)}); "
                                 "pass the .npz a style-transfer or gram-texture run wrote with --save-arrays")
            return rgb(saved["iterate"])
    return load_image(path)


def resolved_layers(model, params: dict) -> dict:
    """``params`` with the default content and style layers of a net without a preset filled in."""
    if params.get("style_layers") is None or params.get("content_layers", "") is None:
        content, style = default_layers(model)
        params = {**params, "style_layers": params.get("style_layers") or ",".join(style)}
        if "content_layers" in params:
            params["content_layers"] = params["content_layers"] or ",".join(content)
    return params


def method_output(model, data, rng, params: dict):
    """Run a style-transfer or Gram-texture method's ``params`` on ``data`` (a
    ContentStyleData) and compose its Output: the inputs, the result and, when saved, the
    iterations; attachments iter_<N>.png."""
    from visualize import imaging
    from visualize.method import Output
    from visualize.result import _png_bytes
    p = dict(params)
    style_layers = split_layers(p.pop("style_layers"))
    content_layers = split_layers(p.pop("content_layers", "") or "")
    print_every, save_every = p.pop("print_every"), p.pop("save_every")
    every = math.gcd(print_every, save_every)   # chunks of the loop that both fall on
    init_image = p.pop("init_image", None)
    resume = p.pop("resume", None)

    def report_step(scale, iteration, parts, picture):
        if print_every and iteration % print_every == 0:
            print(f"scale {scale} iteration {iteration}: " +
                  ", ".join(f"{k} {-v:.4g}" for k, v in parts.items() if k != "step"), flush=True)

    out = run(model, data.content, data.styles, blend=data.style_weights, size=p.pop("size"),
              content_layers=content_layers, style_layers=style_layers, layer_weights=p.pop("layer_weights"),
              init_image=None if init_image is None else load_picture(init_image, "--init-image"),
              resume=None if resume is None else load_picture(resume, "--resume"),
              lr=p.pop("learning_rate"), every=every, rng=rng, on_every=report_step,
              progress=sys.stderr.isatty(), **p)
    side = max(out.picture.shape[:2])   # inputs shown at the result's size
    inputs = ([imaging.panel(fit_longest(rgb(data.content), side), "content")] if data.content is not None else []) + \
        [imaging.panel(fit_longest(rgb(s), side), f"style {w:.2f}" if len(data.styles) > 1 else "style")
         for s, w in zip(data.styles, data.style_weights)]
    first, last = out.history[0], out.history[-1]
    parts = [k for k in last if k not in ("step", "scale", "objective")]
    caption = ", ".join(f"{k} {-first[k]:.3g} -> {-last[k]:.3g}" for k in parts) + \
        f" ({len(out.history)} iterations at {' + '.join(f'{w}x{h}' for h, w in out.sizes)})"
    picture = imaging.hstack(inputs + [imaging.panel(out.picture, "result")])
    many = len(out.sizes) > 1
    attachments = {(f"scale{scale}_" if many else "") + f"iter_{i:05d}.png": _png_bytes(imaging.to_uint8(frame))
                   for scale, i, frame in out.frames if save_every and i % save_every == 0}
    report = {"sizes": [list(s) for s in out.sizes], "iterations": len(out.history),
              "start": {k: -first[k] for k in parts}, "end": {k: -last[k] for k in parts}}
    return Output(arrays={"picture": out.picture, "iterate": out.iterate}, picture=picture, caption=caption,
                  report=report, attachments=attachments)

