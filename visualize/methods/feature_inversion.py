"""Feature inversion: what a layer's representation keeps of an image (Mahendran & Vedaldi 2015).

From noise, find the image whose features at a layer match those of a target image x_0:

    x* = argmin_x  ||phi(x) - phi(x_0)||^2 / ||phi(x_0)||^2 + lambda_a N_alpha(x) + lambda_TV TV^beta(x)

the normalized reconstruction loss plus their two image priors (the alpha-norm keeps the range
bounded, TV^beta removes the spikes that any deep layer is blind to), optimized by
:func:`visualize.optvis.render.render` with pixels clipped to [0, 1]. Shallow layers keep almost the
whole image; deeper ones keep the layout and lose the detail. The relative feature error
||phi(x*) - phi(x_0)|| / ||phi(x_0)|| says how well the reconstruction matches.
``--layers all`` inverts every learned layer (convolutions and fully connected) into one row.

A. Mahendran, A. Vedaldi. "Understanding Deep Image Representations by Inverting Them." CVPR 2015.
"""
from __future__ import annotations

import numpy as np

from minigrad import no_grad
from visualize import imaging
from visualize.inputs import layer_label, layers_of_type
from visualize.method import Example, Method, Output, register
from visualize.optvis import objectives, param, projections, regularizers, space
from visualize.optvis.frames import attachments as frame_attachments
from visualize.optvis.render import OPTIMIZERS, render
from visualize.params import Choice, Float, Int, Text

ALL = "all"


def features(model, image, layer) -> np.ndarray:
    """phi(x) at ``layer`` for images (N, C, H, W) in the image space, on the host."""
    with no_grad():
        return model.forward_to(space.to_input(model, space.tensor(model, image)), layer).numpy()


def relative_error(model, image, layer, target) -> np.ndarray:
    """||phi(x) - phi_0|| / ||phi_0|| per image."""
    f = features(model, image, layer)
    axes = tuple(range(1, f.ndim))
    diff = np.sqrt(((f.astype(np.float64) - target) ** 2).sum(axis=axes))
    return diff / np.sqrt((target.astype(np.float64) ** 2).sum(axis=axes))


def invert(model, image, layer, rng, *, steps, lr, optimizer="lbfgs", tv=0.0, beta=2.0, alpha=6.0,
           alpha_weight=0.0, frames_every=0, progress=False):
    """Reconstruct ``image`` (N, C, H, W) from its features at ``layer``; returns the
    :class:`~visualize.optvis.render.Rendered` run and the relative feature errors."""
    target = features(model, image, layer)
    mean = space.mean_image_value(model)
    dtype, backend = model.parameters()[0].dtype, model.parameters()[0].backend
    start = param.Pixels.random(image.shape, rng, mean=mean, std=0.05, backend=backend, dtype=dtype)
    objective = -objectives.feature_distance(layer, target)
    if tv:
        objective = objective - tv * regularizers.total_variation(beta)
    if alpha_weight:
        objective = objective - alpha_weight * regularizers.alpha_norm(alpha, center=mean)
    run = render(model, objective, start, steps=steps, optimizer=optimizer, lr=lr,
                 projections=[projections.ClipRange()], rng=rng, frames_every=frames_every, progress=progress,
                 description=f"feature-inversion {layer}")
    return run, relative_error(model, run.image, layer, target)


def learned_layers(model) -> list[str]:
    """Every convolution and fully connected layer, first to last, by readable name."""
    return [layer_label(model, p) for p in layers_of_type(model, "Conv2d", "Linear")]


@register
class FeatureInversion(Method):
    name = "feature-inversion"
    title = "Feature inversion"
    reference = ("A. Mahendran, A. Vedaldi. Understanding Deep Image Representations by Inverting Them. "
                 "CVPR 2015")
    url = "https://arxiv.org/abs/1412.0035"
    summary = "Reconstruct an image from its features at a layer (or every layer): what the representation keeps."
    example = "minigrad feature-inversion --model mnist_cnn --image digit.png --layers all"
    params = (
        Text("layers", None, f"layer to invert, several separated by commas, or '{ALL}' (every conv and fc "
                             "layer, first to last)"),
        Int("steps", 200, "iterations", lo=1, hi=100000),
        Float("lr", 1.0, "step size (L-BFGS: the initial step of the line search)", lo=0.0, lo_open=True),
        Choice("optimizer", "lbfgs", "optimizer", OPTIMIZERS),
        Float("tv", 1e-3, "weight of the TV^beta prior", lo=0.0),
        Float("beta", 2.0, "exponent beta of the TV prior", lo=0.0, lo_open=True),
        Float("alpha_weight", 0.0, "weight of the alpha-norm prior", lo=0.0),
        Float("alpha", 6.0, "exponent alpha of the alpha-norm prior", lo=1.0),
        Int("frames", 0, "keep a frame every N steps, saved as a strip and an animated GIF (0: none)", lo=0),
    )
    presets = {
        "mnist_cnn": dict(layers="conv2_2", steps=40),
        "alexnet": dict(layers="conv4", steps=200, tv=5e-2, alpha_weight=1e-5),
        "vgg16": dict(layers="relu2_2", steps=200, tv=5e-2, alpha_weight=1e-5),
    }
    smoke = {"steps": 2}

    def resolve(self, params):
        text = params["layers"] or learned_layers(self.model)[-1]
        names = learned_layers(self.model) if text == ALL else [t.strip() for t in str(text).split(",")]
        for name in names:
            self.model.resolve(name)          # KeyError naming the valid layers
        return {**params, "layers": ",".join(names)}

    def compute(self, data, rng, layers=None, steps=200, lr=1.0, optimizer="lbfgs", tv=1e-3, beta=2.0,
                alpha_weight=0.0, alpha=6.0, frames=0):
        model = self.model
        image = space.image_of(model, data)
        p0 = space.probabilities(model, image)[0]
        original = int(p0.argmax())
        tiles, labels, report, attachments = [space.picture(image)], ["original"], {"layers": []}, {}
        for name in layers.split(","):
            run, error = invert(model, image, name, rng, steps=steps, lr=lr, optimizer=optimizer, tv=tv,
                                beta=beta, alpha=alpha, alpha_weight=alpha_weight, frames_every=frames,
                                progress=True)
            p = space.probabilities(model, run.image)[0]
            report["layers"].append({"layer": name, "relative_feature_error": float(error[0]), "steps": run.steps,
                                     "predicted": model.class_names[int(p.argmax())],
                                     "probability_of_original_class": float(p[original])})
            tiles.append(run.picture())
            labels.append(f"{name} err {error[0]:.3f}")
            attachments.update(frame_attachments(run, prefix=f"frames-{name}"))
        report["original_class"] = model.class_names[original]
        side = max(tiles[0].shape[0], 84)
        picture = imaging.tile_grid([imaging.upscale(t, side) for t in tiles], columns=len(tiles), labels=labels)
        errors = ", ".join(f"{r['layer']} {r['relative_feature_error']:.3f}" for r in report["layers"])
        caption = f"reconstructions from noise; relative feature error: {errors}"
        return Output(arrays={"reconstructions": np.stack([t for t in tiles[1:]]), "image": tiles[0]},
                      picture=picture, caption=caption, report=report, attachments=attachments)

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--image", demo.images(m)[0][0], "--layers", ALL),
                        f"{m}: a digit reconstructed from every learned layer") for m in demo.models]
