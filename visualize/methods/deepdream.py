"""DeepDream: amplify whatever a layer sees in an image (Mordvintsev, Olah & Tyka 2015).

Gradient ascent on the input of the layer's L2 objective, half the mean square of its
activation, whose gradient at the layer is the activation itself: every pattern the image
already excites a little is drawn more strongly. As in their notebook, each step jitters the
image by a random circular shift, takes a step of size ``step`` divided by the mean |gradient|
(normalized, so the step size does not depend on the layer's scale), and clips to the valid
range; the image is processed in octaves, from a copy scaled down by 1.4^(octaves-1) up to
the full size, and the detail dreamed at each octave is carried, resized, to the next one.
``--channel`` dreams one channel; ``--guide IMAGE`` dreams towards the features of another
image (each position follows the guide's feature it matches best).

A. Mordvintsev, C. Olah, M. Tyka. "Inceptionism: Going Deeper into Neural Networks." Google
Research Blog, 2015; and their deepdream notebook.
"""
from __future__ import annotations

import numpy as np

from minigrad import no_grad
from minigrad.tensor import Tensor
from models.images import load_image
from visualize import imaging
from visualize.inputs import default_layer
from visualize.method import Example, Method, Output, register
from visualize.optvis import objectives, param, projections, space, transforms
from visualize.optvis.frames import attachments as frame_attachments
from visualize.optvis.render import render
from visualize.optvis.resample import resize
from visualize.params import LAYER, Float, Int, Text

#: the smallest octave side: below this the deepest conv layers of the small nets vanish
MIN_OCTAVE_SIDE = 12


def octave_sizes(size, octaves, scale):
    """(h, w) of each octave, smallest first; octaves smaller than MIN_OCTAVE_SIDE are skipped."""
    h, w = size
    sizes = [(round(h / scale ** k), round(w / scale ** k)) for k in reversed(range(octaves))]
    return [s for s in sizes if min(s) >= MIN_OCTAVE_SIDE] or [tuple(size)]


def _resized(image, size):
    with no_grad():
        return resize(Tensor(image), size).numpy()


def dream(model, image, objective, rng, *, octaves=4, octave_scale=1.4, steps=10, step=0.01, jitter=4,
          frames_every=0, progress=False):
    """DeepDream of ``image`` (1, C, H, W) in the image space; returns (dreamed image, the
    runs of each octave)."""
    sizes = octave_sizes(image.shape[-2:], octaves, octave_scale)
    detail = np.zeros(image.shape[:2] + sizes[0], dtype=image.dtype)
    dtype, backend = model.parameters()[0].dtype, model.parameters()[0].backend
    runs = []
    for k, size in enumerate(sizes):
        base = _resized(image, size)
        start = param.Pixels(base + _resized(detail, size), backend=backend, dtype=dtype)
        run = render(model, objective, start, steps=steps, optimizer="sgd", lr=step, normalize="mean-abs",
                     transform=transforms.jitter(jitter) if jitter else None,
                     projections=[projections.ClipRange()], rng=rng, frames_every=frames_every,
                     progress=progress, description=f"deepdream octave {k + 1}/{len(sizes)}")
        runs.append(run)
        detail = run.image - base
    return runs[-1].image, runs


def guide_features(model, guide, layer):
    """The guide picture's features at ``layer`` (C, h*w), for the guided objective."""
    with no_grad():
        f = model.forward_to(space.to_input(model, space.tensor(model, space.image_of(model, guide))), layer)
    return f.numpy()[0].reshape(f.shape[1], -1)


@register
class DeepDream(Method):
    name = "deepdream"
    title = "DeepDream"
    reference = "A. Mordvintsev, C. Olah, M. Tyka. Inceptionism: Going Deeper into Neural Networks. 2015"
    url = "https://research.google/blog/inceptionism-going-deeper-into-neural-networks/"
    summary = "Amplify what a layer (or a channel) sees in an image, by normalized gradient ascent over octaves."
    example = "minigrad deepdream --model mnist_cnn --image digit.png --layer relu2_1"
    params = (
        LAYER.with_help("layer to amplify; default: the last conv layer's ReLU"),
        Int("channel", None, "amplify only this channel of --layer", lo=0),
        Text("guide", None, "dream towards this image's features at --layer instead"),
        Int("octaves", 4, "number of octaves (image scales)", lo=1, hi=12),
        Float("octave_scale", 1.4, "size ratio between octaves", lo=1.0),
        Int("steps", 10, "gradient steps per octave (iterations)", lo=1, hi=10000),
        Float("step", 0.006, "step size, in units of [0, 1] per mean |gradient| (1.5 / 255 in the original)",
              lo=0.0, lo_open=True),
        Int("jitter", 32, "random circular shift of up to this many pixels per step", lo=0),
        Int("frames", 0, "keep a frame every N steps of each octave (strip and GIF; 0: none)", lo=0),
    )
    presets = {
        "mnist_cnn": dict(layer="relu2_1", octaves=3, steps=20, step=0.02, jitter=2),
        "alexnet": dict(layer="relu4"),
        "vgg16": dict(layer="relu4_3"),
    }
    smoke = {"steps": 2, "octaves": 1}

    def resolve(self, params):
        return {**params, "layer": params["layer"] or default_layer(self.model, "ReLU")}

    def compute(self, data, rng, layer=None, channel=None, guide=None, octaves=4, octave_scale=1.4, steps=10,
                step=0.006, jitter=32, frames=0):
        model = self.model
        image = space.image_of(model, data)
        if guide is not None:
            objective = objectives.guided_dream(layer, guide_features(model, load_image(guide), layer))
        else:
            objective = objectives.dream(layer, channel)
        dreamed, runs = dream(model, image, objective, rng, octaves=octaves, octave_scale=octave_scale,
                              steps=steps, step=step, jitter=jitter, frames_every=frames, progress=True)
        change = np.abs(dreamed - image)
        p0, p1 = space.probabilities(model, image)[0], space.probabilities(model, dreamed)[0]
        report = {"layer": layer, "channel": channel, "guide": guide,
                  "octave_sizes": [list(r.image.shape[-2:]) for r in runs],
                  "objective_per_octave": [[r.history[0]["objective"], r.history[-1]["objective"]] for r in runs],
                  "mean_abs_change": float(change.mean()), "max_abs_change": float(change.max()),
                  "predicted_before": model.class_names[int(p0.argmax())],
                  "predicted_after": model.class_names[int(p1.argmax())]}
        what = f"{layer}" + ("" if channel is None else f" channel {channel}") + (" guided" if guide else "")
        picture = imaging.hstack([imaging.panel(space.picture(image), "input"),
                                  imaging.panel(space.picture(dreamed), f"dream: {what}"),
                                  imaging.heatmap(change[0].max(axis=0), "|change|", lo=0)])
        caption = (f"{what}: {len(runs)} octaves x {steps} steps; mean |change| {report['mean_abs_change']:.3f}; "
                   f"predicted {report['predicted_before']} -> {report['predicted_after']}")
        attachments = {}
        for k, run in enumerate(runs):
            attachments.update(frame_attachments(run, prefix=f"frames-octave{k + 1}"))
        return Output(arrays={"dream": dreamed, "image": image}, picture=picture, caption=caption, report=report,
                      attachments=attachments)

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--image", demo.images(m)[0][0]), f"{m}: the preset layer amplified")
                for m in demo.models]
