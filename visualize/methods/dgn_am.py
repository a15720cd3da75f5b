"""Activation maximization through a deep generator network (DGN-AM; Nguyen et al. 2016).

Instead of the pixels, optimize the code h of an image generator G (:mod:`models.generator`,
trained to invert a classifier's hidden layer, Dosovitskiy & Brox 2016):

    h* = argmax_{h in [h_min, h_max]}  a(G(h)),        picture = G(h*)

where a is a class score S_c (the unnormalized logit) or one unit of a layer, of *any*
classifier taking images (the generator's output is resized and converted to the
classifier's channels, differentiably), and [h_min, h_max] is the per-unit range of the codes
seen in training (stored in the generator file): the paper's bound, which keeps h where G
makes images like its training images. Each step is an Adam step on u = (h - h_min) /
(h_max - h_min) followed by clipping u to [0, 1] (projected gradient ascent in the box), so
``lr`` is in units of each code unit's range. The start is the mean training code (``init
mean``) or a uniform draw from the box (``init random``, seeded).

The prior is whatever G learned: with the shipped ``mnist_generator`` every picture is a
digit-like image, so a class of ``mnist_cnn`` comes out as a natural-looking digit where
plain class visualization (``class-visualization``) gives strokes and noise. On a colour
network the published fc6 generator (``caffe_fc6_generator``, converted from its Caffe model
with ``minigrad weights convert-generator``) is the default; ``--generator mnist_generator``
runs the digit prior on any network.

A. Nguyen, A. Dosovitskiy, J. Yosinski, T. Brox, J. Clune. "Synthesizing the preferred inputs
for neurons in neural networks via deep generator networks." NIPS 2016. arXiv:1605.09304.
"""
from __future__ import annotations

import numpy as np

import models
from minigrad import functional as F
from minigrad import optim
from minigrad.tensor import Tensor
from models.generator import Generator
from visualize import imaging
from visualize.input_kinds import NoInput
from visualize.inputs import layer_label, predict, resolve_class
from visualize.method import Example, Method, Output, register
from visualize.methods.class_visualization import ALL_CLASSES_UP_TO, unit_objective
from visualize.optvis import objectives, space
from visualize.optvis.render import render
from visualize.optvis.resample import resize
from visualize.params import LAYER, TARGET, UNIT, Choice, Float, Int, Text

_LUMA = (0.299, 0.587, 0.114)


def default_generator(model) -> str:
    """The digit generator for one-channel networks, the published fc6 generator for colour ones."""
    return "mnist_generator" if space.channels(model) == 1 else "caffe_fc6_generator"


def load_generator(name_or_path, model) -> Generator:
    """The generator ``name_or_path`` on ``model``'s backend; a missing file is a ValueError
    that says how to get one."""
    try:
        gen = Generator.load(name_or_path, backend=model.parameters()[0].backend.name)
    except FileNotFoundError as exc:
        raise ValueError(f"--generator: {exc}; or run the digit prior with --generator mnist_generator") from None
    gen.net.requires_grad_(False)     # only the code is optimized
    return gen


def to_classifier_image(model, image: Tensor) -> Tensor:
    """A generator's image (N, C, H, W) in [0, 1] as ``model``'s image space: resized to its
    input size (bilinear) and converted to its channels (gray repeated to RGB, RGB to luminance)."""
    c = space.channels(model)
    if image.shape[1] != c:
        image = F.concat([image] * 3, axis=1) if c == 3 else sum(
            F.getitem(image, (slice(None), slice(i, i + 1))) * w for i, w in enumerate(_LUMA))
    size = tuple(model.preprocessing.input_size)
    return image if tuple(image.shape[2:]) == size else resize(image, size)


class CodeParameterization:
    """The code as the optimized variable: u in [0, 1]^K (N, K), h = h_min + u (h_max - h_min),
    image = the classifier's view of G(h) (see :mod:`visualize.optvis.param` for the interface)."""

    def __init__(self, generator: Generator, model, u0: np.ndarray):
        self.generator, self.model = generator, model
        self.low = space.tensor(model, generator.code_min[None])
        self.span = space.tensor(model, (generator.code_max - generator.code_min)[None])
        self.u = space.tensor(model, u0, requires_grad=True)

    def code(self) -> Tensor:
        return self.low + self.u * self.span

    def generated(self) -> Tensor:
        return self.generator.image(self.code())

    def __call__(self) -> Tensor:
        return to_classifier_image(self.model, self.generated())

    def parameters(self):
        return [self.u]

    def image(self) -> np.ndarray:
        return np.asarray(self().numpy())


class BoxAdam(optim.Adam):
    """Adam followed by clipping every parameter to [0, 1]: projected ascent in the code box."""

    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                xp = p.backend.xp
                xp.clip(p.data, 0.0, 1.0, out=p.data)
        return loss


@register
class DgnAm(Method):
    name = "dgn-am"
    title = "DGN-AM: a deep generator network prior"
    reference = ("A. Nguyen, A. Dosovitskiy, J. Yosinski, T. Brox, J. Clune. Synthesizing the preferred inputs for "
                 "neurons in neural networks via deep generator networks. NIPS 2016")
    url = "https://arxiv.org/abs/1605.09304"
    summary = ("Maximize a class or unit over the code of an image generator (its output is the picture), the code "
               "kept in the range seen in training: class images that look like the generator's training images.")
    example = "minigrad dgn-am --model mnist_cnn --class 3"
    inputs = NoInput()
    params = (
        TARGET.with_help(f"class to maximize (index or name); default: every class of a net with at most "
                         f"{ALL_CLASSES_UP_TO}, else class 0"),
        LAYER.with_help("maximize a unit of this layer instead of a class"),
        UNIT.with_help("channel, or channel,y,x, of --layer (default: channel 0, its mean over positions)"),
        Text("generator", None, "generator: a registered name (mnist_generator, caffe_fc6_generator) or a weights "
                                "file; default: mnist_generator for gray nets, caffe_fc6_generator for colour ones"),
        Int("steps", 200, "Adam steps on the code", lo=1, hi=100000),
        Float("lr", 0.02, "step size, in units of each code unit's training range", lo=0.0, lo_open=True),
        Choice("init", "mean", "start code: the mean training code, or uniform in the bound (seeded)",
               ("mean", "random")),
    )
    presets = {"mnist_cnn": {"steps": 60}}     # the digits are clear by then; later steps exaggerate strokes
    smoke = {"steps": 3, "generator": "mnist_generator"}

    def resolve(self, params):
        return {**params, "generator": params["generator"] or default_generator(self.model)}

    def compute(self, data, rng, target=None, layer=None, unit=None, generator=None, steps=200, lr=0.02,
                init="mean"):
        model = self.model
        gen = load_generator(generator, model)
        if layer is not None:
            objective, classes = unit_objective(model, layer, unit), None
            labels = [f"{layer_label(model, model.resolve(layer))} unit {','.join(map(str, unit or (0,)))}"]
        else:
            classes = np.array([resolve_class(model, target)]) if target is not None else \
                np.arange(len(model.class_names)) if len(model.class_names) <= ALL_CLASSES_UP_TO else np.array([0])
            objective, labels = objectives.class_logit(classes), []
        n = 1 if classes is None else len(classes)
        span = np.maximum(gen.code_max - gen.code_min, np.float32(1e-12))
        u0 = np.broadcast_to((gen.code_mean - gen.code_min) / span, (n, gen.code_size)) if init == "mean" \
            else rng.random((n, gen.code_size))
        code = CodeParameterization(gen, model, np.clip(u0, 0.0, 1.0).astype(np.float32))
        run = render(model, objective, code, steps=steps, optimizer=lambda ps: BoxAdam(ps, lr=lr), rng=rng,
                     progress=True, description="dgn-am")
        images = np.asarray(code.generated().numpy())
        codes = np.asarray(code.code().numpy())
        u = np.asarray(code.u.numpy())
        at_bound = float(np.mean((u <= 0) | (u >= 1)))
        report = {"generator": gen.source, "generator_encoder": f"{gen.encoder_architecture} {gen.code_layer}",
                  "generator_weights_sha256": gen.net.weights_sha256, "steps": run.steps,
                  "objective": run.history[-1] if run.history else None, "code_at_bound": at_bound}
        if classes is not None:
            p = predict(model, space.to_input(model, space.tensor(model, run.image)))
            report["classes"] = [{"index": int(c), "name": model.class_names[c], "probability": float(p[i, c]),
                                  "predicted": model.class_names[int(p[i].argmax())]}
                                 for i, c in enumerate(classes)]
            labels = [f"{r['name']} p={r['probability']:.3f}" for r in report["classes"]]
            caption = (f"{n} class{'es' if n > 1 else ''} through {gen.net.architecture}, {run.steps} steps; lowest "
                       f"p of its class {min(r['probability'] for r in report['classes']):.4f}")
        else:
            caption = f"{labels[0]} through {gen.net.architecture}, {run.steps} steps, activation " \
                      f"{run.history[-1]['objective']:.3g}"
        tiles = [space.picture(images[i:i + 1]) for i in range(n)]
        side = max(tiles[0].shape[0], 84)
        picture = imaging.tile_grid([imaging.upscale(t, side) for t in tiles], columns=min(n, 10), labels=labels)
        return Output(arrays={"images": images, "codes": codes,
                              "history": np.array([h["objective"] for h in run.history])},
                      picture=picture, caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        """Gray nets through the shipped generator; colour nets only when the fc6 generator is converted."""
        from visualize.arguments import load_model
        fc6 = models.weights_path("caffe_fc6_generator").exists()
        return [Example(("--model", m), f"{m}: every class through {default_generator(load_model(m))}")
                for m in demo.models if fc6 or space.channels(load_model(m)) == 1]
