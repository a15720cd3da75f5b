"""The one optimization loop: ascend an objective over a parameterized image.

Each step::

    I = param()                                   the image (N, C, H, W) in [0, 1]
    x = preprocess(transform(I))                  random transforms, then the weights' normalization
    acts = network(x) captured at the objective's layers (one forward pass), plus IMAGE = I
    J = objective(acts)                           a weighted sum of named parts
    g = dJ/dparameters                            one backward pass, through transform and param
    g <- normalize(g)                             optional: / mean|g|, / ||g||_2 or sign(g)
    optimizer step on -J (Adam, SGD or L-BFGS)
    projections on the pixels                     Yosinski's regularizers, clipping, the PGD ball

The network is frozen for the run (its parameters get no gradient) and restored afterwards.
``until(acts)``, checked on each step's forward pass before the update, stops the loop early
and keeps the image it was checked on (e.g. the target class's probability reached).
L-BFGS (``optimizer="lbfgs"``, strong-Wolfe line search, one iteration per step) evaluates
the objective several times per step, so use it without random transforms.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from minigrad import functional as F
from minigrad import optim
from visualize.inputs import require_classes
from visualize.optvis import space
from visualize.optvis.objectives import IMAGE, LOGITS

OPTIMIZERS = ("adam", "sgd", "lbfgs")
NORMALIZATIONS = ("mean-abs", "l2", "sign")


@dataclass
class Rendered:
    """The result of :func:`render`.

    image:    the final image (N, C, H, W), float, on the host
    steps:    optimizer steps taken
    stopped:  True when ``until`` stopped the loop early
    history:  one dict per evaluated step: {"step", "objective", each part's weighted value}
    frames:   pictures (H, W, 3) of the first image, at ``frame_steps``
    """

    image: np.ndarray
    steps: int
    stopped: bool
    history: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    frame_steps: list = field(default_factory=list)

    def picture(self, index: int = 0) -> np.ndarray:
        """Image ``index`` as an (H, W, 3) picture in [0, 1]."""
        return space.picture(self.image[index:index + 1])

    @property
    def objective(self) -> float:
        """The objective at the last evaluated step."""
        return self.history[-1]["objective"] if self.history else float("nan")


def render(model, objective, param, *, steps: int = 256, optimizer="adam", lr: float = 0.05,
           momentum: float = 0.0, transform=None, projections=(), normalize=None, rng=0, until=None,
           frames_every: int = 0, progress: bool = False, description: str = "render") -> Rendered:
    """Ascend ``objective`` over ``param``'s image for ``steps`` steps (see the module docstring).

    model: a :class:`models.Network`; objective: an :class:`~visualize.optvis.objectives.Objective`;
    param: a parameterization (:mod:`visualize.optvis.param`) on the model's backend.
    optimizer: "adam", "sgd" (with ``momentum``), "lbfgs", or a function params -> Optimizer.
    lr: the step size (> 0); transform: ``transform(image, rng)`` (:mod:`~visualize.optvis.transforms`);
    projections: callables ``(pixels, grad, step)`` (:mod:`~visualize.optvis.projections`,
    Pixels only); normalize: None, "mean-abs", "l2" or "sign"; rng: a seed or a Generator;
    until: ``until(acts) -> bool`` stops early; frames_every: keep a picture every N steps (0:
    none); progress: show a tqdm bar with the objective and its parts.
    """
    _check_arguments(steps, lr, frames_every, normalize, optimizer, momentum)
    rng = np.random.default_rng(rng)
    params = param.parameters()
    _check_backend(model, params)
    if projections and not hasattr(param, "pixels"):
        raise ValueError("projections act on pixels: use the Pixels parameterization with them "
                         f"(got {type(param).__name__})")
    layers = _layer_paths(model, objective)
    opt = _optimizer(optimizer, params, lr, momentum)
    if isinstance(opt, optim.LBFGS) and normalize is not None:
        raise ValueError("normalize is for first-order steps; L-BFGS chooses its own step length")

    def evaluate():
        image = param()
        x = space.to_input(model, transform(image, rng) if transform is not None else image)
        acts = dict(model.capture(x, list(layers.values()))) if layers else {}
        acts = {name: acts[path] for name, path in layers.items()}
        acts[IMAGE] = image
        parts = objective.parts(acts)
        total = sum(parts.values())
        return total, parts, acts

    result = Rendered(image=None, steps=0, stopped=False)
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    training = model.training
    model.eval().requires_grad_(False)
    bar = tqdm(total=steps, desc=description, disable=not progress, leave=False, dynamic_ncols=True)
    try:
        _keep_frame(result, param, 0, frames_every, force=frames_every > 0)
        for step in range(steps):
            record = {}

            def closure():
                opt.zero_grad()
                total, parts, acts = evaluate()
                if not record:
                    record.update(parts=parts, stop=bool(until(acts)) if until is not None else False)
                    if record["stop"]:
                        return total
                (-total).backward()
                return -total

            if isinstance(opt, optim.LBFGS):
                before = [p.data.copy() for p in params]
                opt.step(closure)
                if record["stop"]:
                    for p, data in zip(params, before):
                        p.data[...] = data
            else:
                closure()
                if not record["stop"]:
                    gradient = [None if p.grad is None else -p.grad.copy() for p in params]
                    _normalize(params, normalize)
                    opt.step()
            parts = {k: float(v.item()) for k, v in record["parts"].items()}
            history = {"step": step, "objective": float(sum(parts.values())), **parts}
            result.history.append(history)
            bar.set_postfix({k: f"{v:.4g}" for k, v in history.items() if k != "step"}, refresh=False)
            bar.update(1)
            if record["stop"]:
                result.stopped = True
                break
            if projections:
                grad = gradient[0] if not isinstance(opt, optim.LBFGS) else -params[0].grad
                for projection in projections:
                    projection(param.pixels.data, grad, step)
            result.steps = step + 1
            _keep_frame(result, param, step + 1, frames_every)
    finally:
        bar.close()
        for p, flag in frozen:
            p.requires_grad = flag
        model.train(training)
    if frames_every > 0 and (not result.frame_steps or result.frame_steps[-1] != result.steps):
        _keep_frame(result, param, result.steps, frames_every, force=True)
    result.image = param.image()
    return result


def until_probability(classes, threshold: float):
    """A stopping rule for :func:`render`: every image n has p(classes[n]) >= ``threshold``
    (softmax of the step's logits)."""
    classes = np.asarray(classes).reshape(-1)

    def until(acts):
        p = F.softmax(acts[LOGITS], axis=1).numpy()
        return bool((p[np.arange(len(p)), np.broadcast_to(classes, (len(p),))] >= threshold).all())
    return until


def _keep_frame(result, param, step, every, force=False):
    if every > 0 and (force or step % every == 0):
        result.frames.append(space.picture(param.image()))
        result.frame_steps.append(step)


def _check_arguments(steps, lr, frames_every, normalize, optimizer, momentum):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"render: steps (the number of iterations) must be an integer >= 0, got {steps!r}")
    if not (isinstance(lr, (int, float, np.floating)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"render: the step size lr must be a positive number, got {lr!r}")
    if not isinstance(frames_every, (int, np.integer)) or frames_every < 0:
        raise ValueError(f"render: frames_every must be an integer >= 0 (0: no frames), got {frames_every!r}")
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise ValueError(f"render: normalize must be None or one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    if not callable(optimizer) and optimizer not in OPTIMIZERS:
        raise ValueError(f"render: optimizer must be one of {', '.join(OPTIMIZERS)} or a function "
                         f"params -> Optimizer, got {optimizer!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"render: momentum must be in [0, 1), got {momentum!r}")


def _check_backend(model, params):
    want = model.parameters()[0]
    for p in params:
        if p.backend is not want.backend or p.dtype != want.dtype:
            raise TypeError(f"render: the parameterization is {p.backend.name} {p.dtype} but the model is "
                            f"{want.backend.name} {want.dtype}; create it with backend= and dtype= of the model "
                            "(visualize.optvis.space.tensor does)")


def _layer_paths(model, objective) -> dict:
    """{layer name: dotted path} of the layers the objective reads (LOGITS: the last layer);
    unknown names raise the network's KeyError listing the valid ones."""
    out = {}
    for name in objective.layers:
        if name == IMAGE:
            continue
        if name == LOGITS:
            require_classes(model)
            out[name] = model.layers()[-1][0]
        else:
            out[name] = model.resolve(name)
    return out


def _optimizer(kind, params, lr, momentum):
    if callable(kind):
        return kind(params)
    if kind == "adam":
        return optim.Adam(params, lr=lr)
    if kind == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum)
    return optim.LBFGS(params, lr=lr, max_iter=1, line_search_fn="strong_wolfe")


def _normalize(params, how):
    """Rescale the gradients in place: divided by their mean |g| or L2 norm (per image), or
    replaced by their sign; steps then have a set size whatever the objective's scale."""
    if how is None:
        return
    for p in params:
        g = p.grad
        if g is None:
            continue
        xp = p.backend.xp
        if how == "sign":
            p.grad = xp.sign(g)
            continue
        axes = tuple(range(1, g.ndim))
        size = xp.abs(g).mean(axis=axes, keepdims=True) if how == "mean-abs" else \
            xp.sqrt((g * g).sum(axis=axes, keepdims=True))
        p.grad = g / xp.maximum(size, xp.asarray(1e-12, dtype=g.dtype))
