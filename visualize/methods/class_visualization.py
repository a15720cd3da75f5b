"""Class visualization: the image a network finds most typical of a class, or of one unit,
by gradient ascent from a blank image (Simonyan, Vedaldi & Zisserman 2014; Yosinski et al. 2015).

    I* = argmax_I  S_c(I) - lambda ||I - m||^2 - tau TV(I)

with S_c the unnormalized class score (or a unit's activation), m the dataset mean (the image
the network sees as zeros), ascended by :func:`visualize.optvis.render.render` under random
jitter. Yosinski et al. add four regularizers applied as steps on the pixels (decay, Gaussian
blur every k steps, zeroing pixels of small norm, zeroing pixels of small contribution);
``--preset yosinski-1`` .. ``yosinski-4`` are the four combinations of their paper's Table 1.

K. Simonyan, A. Vedaldi, A. Zisserman. "Deep Inside Convolutional Networks: Visualising Image
Classification Models and Saliency Maps." ICLR Workshop 2014. J. Yosinski, J. Clune, A. Nguyen,
T. Fuchs, H. Lipson. "Understanding Neural Networks Through Deep Visualization." ICML Deep
Learning Workshop 2015.
"""
from __future__ import annotations

import numpy as np

from visualize import imaging
from visualize.input_kinds import NoInput
from visualize.inputs import layer_label, resolve_class
from visualize.method import Example, Method, Output, register
from visualize.optvis import objectives, param, projections, regularizers, space, transforms
from visualize.optvis.frames import attachments as frame_attachments
from visualize.optvis.render import OPTIMIZERS, render, until_probability
from visualize.params import LAYER, TARGET, UNIT, Choice, Float, Int

#: Yosinski et al. (2015), Table 1: decay, blur width and period, small-norm and
#: small-contribution percentiles
YOSINSKI = {
    "yosinski-1": dict(decay=0.0, blur_sigma=0.5, blur_every=4, norm_percentile=50.0, contribution_percentile=0.0),
    "yosinski-2": dict(decay=0.3, blur_sigma=0.0, blur_every=1, norm_percentile=20.0, contribution_percentile=0.0),
    "yosinski-3": dict(decay=1e-4, blur_sigma=1.0, blur_every=4, norm_percentile=0.0, contribution_percentile=0.0),
    "yosinski-4": dict(decay=0.0, blur_sigma=0.5, blur_every=4, norm_percentile=0.0, contribution_percentile=90.0),
}
#: the most classes drawn in one picture when --class is not given
ALL_CLASSES_UP_TO = 10


def unit_objective(model, layer, unit):
    """The activation of ``unit`` ((channel,) or (channel, y, x)) of ``layer``: a channel's
    mean, or one position."""
    channel = unit[0] if unit else 0
    return objectives.channel(layer, channel) if len(unit or ()) < 3 else \
        objectives.neuron(layer, channel, unit[1], unit[2])


def visualize(model, objective, count, rng, *, steps, lr, optimizer="adam", parameterization="pixels", l2=0.0,
              tv=0.0, jitter=0, decay=0.0, blur_sigma=0.0, blur_every=1, norm_percentile=0.0,
              contribution_percentile=0.0, until=None, frames_every=0, progress=False):
    """Ascend ``objective`` (plus the penalties) over ``count`` images at the network's input
    size; returns the :class:`~visualize.optvis.render.Rendered` run."""
    h, w = model.preprocessing.input_size
    mean = space.mean_image_value(model)
    shape = (count, space.channels(model), h, w)
    dtype, backend = model.parameters()[0].dtype, model.parameters()[0].backend
    if parameterization == "pixels":
        image = param.Pixels.random(shape, rng, mean=mean, std=0.01, backend=backend, dtype=dtype)
        steps_on_pixels = [projections.ClipRange(),
                           projections.Decay(decay, mean), projections.BlurEvery(blur_sigma, blur_every, mean),
                           projections.ClipSmallNorm(norm_percentile, mean),
                           projections.ClipSmallContribution(contribution_percentile, mean)]
    else:
        if decay or blur_sigma or norm_percentile or contribution_percentile:
            raise ValueError("the Yosinski regularizers (--preset, --decay, --blur-sigma, --norm-percentile, "
                             "--contribution-percentile) act on pixels: use --param pixels with them")
        image = param.make(parameterization, shape, rng, backend=backend, dtype=dtype)
        steps_on_pixels = []
    penalty = l2 * regularizers.l2(mean) + tv * regularizers.total_variation()
    return render(model, objective - penalty, image, steps=steps, optimizer=optimizer, lr=lr,
                  transform=transforms.jitter(jitter) if jitter else None, projections=steps_on_pixels,
                  rng=rng, until=until, frames_every=frames_every, progress=progress,
                  description="class-visualization")


@register
class ClassVisualization(Method):
    name = "class-visualization"
    title = "Class visualization"
    reference = ("K. Simonyan, A. Vedaldi, A. Zisserman. Deep Inside Convolutional Networks. ICLR Workshop 2014; "
                 "J. Yosinski et al. Understanding Neural Networks Through Deep Visualization. ICML DL Workshop 2015")
    url = "https://arxiv.org/abs/1312.6034"
    summary = "The image that maximizes a class score (or a unit), by regularized gradient ascent from a blank image."
    example = "minigrad class-visualization --model mnist_cnn --frames 10"
    inputs = NoInput()
    params = (
        TARGET.with_help(f"class to visualize (index or name); default: every class of a net with at most "
                         f"{ALL_CLASSES_UP_TO}, else class 0"),
        LAYER.with_help("visualize a unit of this layer instead of a class"),
        UNIT.with_help("channel, or channel,y,x, of --layer (default: channel 0, its mean over positions)"),
        Int("steps", 200, "gradient steps (iterations)", lo=1, hi=100000),
        Float("lr", 0.05, "step size (learning rate), in pixel units of [0, 1] for --param pixels", lo=0.0,
              lo_open=True),
        Choice("optimizer", "adam", "optimizer", OPTIMIZERS),
        Choice("param", "pixels", "parameterization of the image", param.PARAMETERIZATIONS),
        Float("l2", 1.0, "weight of the L2 penalty ||I - mean||^2 (mean over pixels)", lo=0.0),
        Float("tv", 0.0, "weight of the total-variation penalty", lo=0.0),
        Int("jitter", 2, "random shift of up to this many pixels before each step", lo=0),
        Choice("preset", "none", "Yosinski et al.'s regularizer combinations (Table 1); overrides --decay "
               "--blur-sigma --blur-every --norm-percentile --contribution-percentile", ("none", *YOSINSKI)),
        Float("decay", 0.0, "Yosinski decay: I <- m + (1 - decay)(I - m) each step", lo=0.0, hi=1.0),
        Float("blur_sigma", 0.0, "Yosinski blur: Gaussian of this many pixels ...", lo=0.0),
        Int("blur_every", 4, "... every this many steps", lo=1),
        Float("norm_percentile", 0.0, "Yosinski: reset pixels whose norm is under this percentile", lo=0.0, hi=100.0),
        Float("contribution_percentile", 0.0, "Yosinski: reset pixels whose contribution is under this percentile",
              lo=0.0, hi=100.0),
        Float("threshold", 0.0, "stop when every class has at least this probability (0: run every step)",
              lo=0.0, hi=1.0),
        Int("frames", 0, "keep a frame every N steps, saved as a strip and an animated GIF (0: none)", lo=0),
    )
    presets = {
        "mnist_cnn": dict(steps=200, lr=0.02, l2=3.0, tv=1.0, jitter=1, blur_sigma=0.5, blur_every=4, threshold=0.999),
        "alexnet": dict(target=130, steps=400, lr=0.05, l2=0.05, jitter=8, preset="yosinski-3"),
        "vgg16": dict(target=130, steps=400, lr=0.05, l2=0.05, jitter=8, preset="yosinski-3"),
    }
    smoke = {"steps": 3}

    def compute(self, data, rng, target=None, layer=None, unit=None, steps=200, lr=0.05, optimizer="adam",
                param="pixels", l2=1.0, tv=0.0, jitter=2, preset="none", decay=0.0, blur_sigma=0.0, blur_every=4,
                norm_percentile=0.0, contribution_percentile=0.0, threshold=0.0, frames=0):
        model = self.model
        yosinski = YOSINSKI.get(preset, dict(decay=decay, blur_sigma=blur_sigma, blur_every=blur_every,
                                             norm_percentile=norm_percentile,
                                             contribution_percentile=contribution_percentile))
        if layer is not None:
            path = model.resolve(layer)
            objective, classes = unit_objective(model, layer, unit), None
            what = f"{layer_label(model, path)} unit {','.join(map(str, unit or (0,)))}"
        else:
            if target is not None:
                classes = np.array([resolve_class(model, target)])
            elif len(model.class_names) <= ALL_CLASSES_UP_TO:
                classes = np.arange(len(model.class_names))
            else:
                classes = np.array([0])
            objective, what = objectives.class_logit(classes), None
        until = until_probability(classes, threshold) if classes is not None and threshold > 0 else None
        run = visualize(model, objective, 1 if classes is None else len(classes), rng, steps=steps, lr=lr,
                        optimizer=optimizer, parameterization=param, l2=l2, tv=tv, jitter=jitter, until=until,
                        frames_every=frames, progress=True, **yosinski)
        report = {"steps": run.steps, "stopped_early": run.stopped, "objective": run.history[-1],
                  "regularizers": {"l2": l2, "tv": tv, "jitter": jitter, "preset": preset, **yosinski}}
        tiles, labels = [run.picture(i) for i in range(len(run.image))], []
        if classes is not None:
            p = space.probabilities(model, run.image)
            report["classes"] = [{"index": int(c), "name": model.class_names[c], "probability": float(p[i, c]),
                                  "predicted": model.class_names[int(p[i].argmax())]}
                                 for i, c in enumerate(classes)]
            labels = [f"{r['name']} p={r['probability']:.3f}" for r in report["classes"]]
            caption = (f"{len(classes)} class{'es' if len(classes) > 1 else ''}, {run.steps} steps; lowest p of "
                       f"its class {min(r['probability'] for r in report['classes']):.4f}")
        else:
            labels = [what]
            caption = f"{what}, {run.steps} steps, activation {run.history[-1]['objective']:.3g}"
        side = max(tiles[0].shape[0], 84)
        picture = imaging.tile_grid([imaging.upscale(t, side) for t in tiles], columns=min(len(tiles), 10),
                                    labels=labels)
        return Output(arrays={"images": run.image, "history": np.array([h["objective"] for h in run.history])},
                      picture=picture, caption=caption, report=report, attachments=frame_attachments(run))

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--frames", "10"), f"{m}: every class, frames every 10 steps")
                for m in demo.models]
