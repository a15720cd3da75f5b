"""Fooling images: the smallest change that makes the network see another class (Szegedy et
al. 2014; the lecture's version).

From a real image, ascend the log-probability of a wrong target class t with normalized
gradient steps, keeping the pixels in [0, 1]:

    x <- clip(x + step * g / ||g||_2),   g = d log p_t(x) / dx

until p_t(x) >= threshold. On ImageNet networks the change is usually invisible; on the
28 x 28 digits of mnist_cnn it is small but visible (a few strokes). The picture shows the
original, the fooled image and the difference (its own colour scale); the report gives the
steps and the L-infinity and L2 size of the change.

C. Szegedy, W. Zaremba, I. Sutskever, J. Bruna, D. Erhan, I. Goodfellow, R. Fergus.
"Intriguing properties of neural networks." ICLR 2014.
"""
from __future__ import annotations

import numpy as np

from visualize import imaging
from visualize.inputs import resolve_class
from visualize.method import Example, Method, Output, register
from visualize.optvis import objectives, param, projections, space
from visualize.optvis.frames import attachments as frame_attachments
from visualize.optvis.render import render, until_probability
from visualize.params import TARGET, Float, Int


def fool(model, image, targets, rng, *, threshold=0.99, max_steps=500, step=0.1, frames_every=0, progress=False):
    """Fool the network on images (N, C, H, W) towards ``targets`` (one class or one per
    image); stops when every image reached p >= ``threshold``. Returns the run and the
    per-image L-infinity and L2 changes."""
    dtype, backend = model.parameters()[0].dtype, model.parameters()[0].backend
    start = param.Pixels(image, backend=backend, dtype=dtype)
    run = render(model, objectives.class_log_probability(targets), start, steps=max_steps, optimizer="sgd", lr=step,
                 normalize="l2", projections=[projections.ClipRange()], rng=rng,
                 until=until_probability(targets, threshold), frames_every=frames_every, progress=progress,
                 description="fooling")
    change = (run.image - image).reshape(len(image), -1).astype(np.float64)
    return run, np.abs(change).max(axis=1), np.sqrt((change ** 2).sum(axis=1))


@register
class Fooling(Method):
    name = "fooling"
    title = "Fooling images"
    reference = "C. Szegedy et al. Intriguing properties of neural networks. ICLR 2014"
    url = "https://arxiv.org/abs/1312.6199"
    summary = "Change an image imperceptibly until the network calls it another class with high probability."
    example = "minigrad fooling --model mnist_cnn --image digit.png --class 3"
    params = (
        TARGET.with_help("the class to fool the network into (index or name); default: the class after the "
                         "predicted one"),
        Float("threshold", 0.99, "stop when the target's probability reaches this", lo=0.0, hi=1.0, lo_open=True),
        Int("steps", 500, "most gradient steps (iterations)", lo=1, hi=100000),
        Float("step", 0.1, "L2 length of each step, in pixel units of [0, 1]", lo=0.0, lo_open=True),
        Int("frames", 0, "keep a frame every N steps, saved as a strip and an animated GIF (0: none)", lo=0),
    )
    presets = {"mnist_cnn": dict(step=0.1), "alexnet": dict(step=0.5), "vgg16": dict(step=0.5)}
    smoke = {"steps": 2}

    def compute(self, data, rng, target=None, threshold=0.99, steps=500, step=0.1, frames=0):
        model = self.model
        image = space.image_of(model, data)
        p0 = space.probabilities(model, image)[0]
        predicted = int(p0.argmax())
        t = resolve_class(model, target) if target is not None else (predicted + 1) % len(model.class_names)
        run, linf, l2 = fool(model, image, t, rng, threshold=threshold, max_steps=steps, step=step,
                             frames_every=frames, progress=True)
        p1 = space.probabilities(model, run.image)[0]
        names = model.class_names
        report = {"target": names[t], "original_prediction": names[predicted],
                  "original_probability_of_target": float(p0[t]), "probability_of_target": float(p1[t]),
                  "prediction": names[int(p1.argmax())], "reached": bool(p1[t] >= threshold), "steps": run.steps,
                  "linf_change": float(linf[0]), "l2_change": float(l2[0])}
        diff = (run.image - image)[0].mean(axis=0)
        picture = imaging.hstack([
            imaging.panel(space.picture(image), f"original: {names[predicted]} p={p0[predicted]:.3f}"),
            imaging.panel(space.picture(run.image), f"fooled: {names[t]} p={p1[t]:.3f}"),
            imaging.heatmap(diff, "difference (magnified)", signed=True)])
        caption = (f"{names[predicted]} -> {names[t]} (p={p1[t]:.4f}) in {run.steps} steps; "
                   f"L-inf change {linf[0]:.3f}, L2 change {l2[0]:.3f}")
        return Output(arrays={"fooled": run.image, "image": image}, picture=picture, caption=caption,
                      report=report, attachments=frame_attachments(run))

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--image", demo.images(m)[0][0]), f"{m}: the next class, p >= 0.99")
                for m in demo.models]
