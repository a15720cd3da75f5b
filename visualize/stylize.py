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

from dataclasses import dataclass, field

import numpy as np

from minigrad import no_grad
from models.images import resize
from visualize import style_losses as sl
from visualize.optvis import space

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


def fit_longest(picture, longest: int) -> np.ndarray:
    """``picture`` resized (bilinear) so that its longer side is ``longest`` pixels."""
    h, w = picture.shape[:2]
    s = longest / max(h, w)
    return resize(picture, (max(1, round(h * s)), max(1, round(w * s))))


def features(model, picture, layers) -> dict:
    """{layer: activation (1, C, H, W) array on the model's backend} of ``picture`` (H, W, 3)
    at its own size (no resize or crop)."""
    with no_grad():
        x = space.to_input(model, space.tensor(model, picture.transpose(2, 0, 1)[None]))
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
    from visualize.optvis import objectives, regularizers
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


def run(model, content, styles, *, blend=None, size=512, content_layers=(), content_weight=5.0,
        style_layers=(), style_weight=100.0, layer_weights=None, tv_weight=1e-3, init="content",
        init_image=None, init_noise=0.1, optimizer="lbfgs", lr=None, iterations=500, style_scale=1.0,
        original_colors="off", scales=(1.0,), normalize=False, dream_layer=None, dream_weight=0.0,
        every=0, resume=None, rng=None, progress=True, on_every=None) -> Stylized:
    """Style transfer of ``content`` (H, W, 3) in [0, 1] in the style of ``styles`` (pictures),
    or a texture when ``content`` is None (see the module docstring for the options).

    ``size``: the output's longest side (a texture is square); ``scales``: fractions of it,
    coarse to fine, each run for ``iterations`` steps; ``every``: keep a frame and call
    ``on_every(scale_index, iteration, parts, picture)`` every N iterations (0: never);
    ``resume``: an iterate (H, W, 3) to start from instead of ``init``; ``lr``: the step size
    (default 1 for L-BFGS, whose line search scales it, and 0.02 for Adam).
    """
    from minigrad import optim
    from visualize.optvis.param import Pixels
    from visualize.optvis.render import render
    rng = rng if rng is not None else np.random.default_rng(0)
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
                        tv_weight=tv_weight, normalize=normalize, dream_layer=dream_layer,
                        dream_weight=dream_weight)
        start = _initial(model, init, c, init_image, hw, rng, init_noise) if image is None else resize(image, hw)
        param = Pixels(start.transpose(2, 0, 1)[None], backend=space.model_backend(model),
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
                picture = _finish(result.picture(), content, original_colors, hw)
                out.frames.append((index, done, picture))
                if on_every is not None:
                    on_every(index, done, result.history[-1], picture)
        image = param.image()[0].transpose(1, 2, 0)
        out.sizes.append(hw)
    out.iterate = image.astype(np.float32)
    out.picture = _finish(np.clip(out.iterate, 0.0, 1.0), content, original_colors, out.sizes[-1])
    return out


def _finish(picture, content, original_colors, hw):
    """The picture with the content's colours put back when asked."""
    if original_colors == "off":
        return picture
    return sl.keep_colors(picture, fit_longest(content, max(hw)))
