"""Adversarial examples: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018), over a
set of images, with their success rates.

With L the cross-entropy of the true class (untargeted: push it up) or minus that of a
target class t (targeted: pull t up), and epsilon the largest change of any pixel in [0, 1]:

    FGSM:  x' = clip(x + eps sign(dL/dx), 0, 1)                         (one step)
    PGD:   x_0' = x + uniform(-eps, eps) noise;   k times:
           x' <- clip(Pi_eps(x' + alpha sign(dL/dx')), 0, 1)            (Pi_eps: back into the ball)

both as runs of :func:`visualize.optvis.render.render` (sign-normalized SGD steps, the
projections ``ProjectLinf`` and ``ClipRange``), so PGD never leaves the L-infinity ball.
The success rate counts, among the images the network classifies correctly, those whose
class changes (untargeted) or becomes the target (targeted, over images of other classes).

I. Goodfellow, J. Shlens, C. Szegedy. "Explaining and Harnessing Adversarial Examples." ICLR
2015. A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu. "Towards Deep Learning Models
Resistant to Adversarial Attacks." ICLR 2018.
"""
from __future__ import annotations

import numpy as np

from models import datasets
from models.mnist import N_TRAIN
from visualize import imaging
from visualize.input_kinds import Dataset
from visualize.inputs import resolve_class
from visualize.method import Example, Method, Output, register
from visualize.optvis import objectives, param, projections, space
from visualize.optvis.render import render
from visualize.params import BATCH_SIZE, TARGET, Choice, Float, Int

ATTACKS = ("fgsm", "pgd")
SHOWN = 6   # images drawn in the picture


def run_attack(model, images, labels, kind, eps, rng, *, target=None, steps=20, alpha=None, random_start=True):
    """Adversarial images (N, C, H, W) for images in the image space with true ``labels``:
    ``kind`` "fgsm" or "pgd", L-infinity radius ``eps``, towards class ``target`` (None:
    away from the labels). PGD: ``steps`` steps of ``alpha`` (default 2.5 eps / steps, Madry
    et al.), from a random point of the ball when ``random_start``."""
    if kind not in ATTACKS:
        raise ValueError(f"unknown attack {kind!r}; choose one of {', '.join(ATTACKS)}")
    if not eps >= 0:
        raise ValueError(f"epsilon must be >= 0 (pixel units of [0, 1]), got {eps}")
    objective = (objectives.class_log_probability(target) if target is not None
                 else -objectives.class_log_probability(labels))
    dtype, backend = model.parameters()[0].dtype, model.parameters()[0].backend
    if eps == 0:
        return images.copy()
    if kind == "fgsm":
        start, steps, step = images, 1, eps
    else:
        step = 2.5 * eps / steps if alpha is None else alpha
        if not step > 0:
            raise ValueError(f"the PGD step size alpha must be > 0, got {step}")
        noise = rng.uniform(-eps, eps, images.shape) if random_start else 0.0
        start = np.clip(images + noise, 0.0, 1.0)
    run = render(model, objective, param.Pixels(start, backend=backend, dtype=dtype), steps=steps, optimizer="sgd",
                 lr=step, normalize="sign", projections=[projections.ProjectLinf(images, eps), projections.ClipRange()],
                 rng=rng, description=kind)
    return run.image


def success(model, images, adversarial, labels, target=None) -> dict:
    """Clean accuracy, success rate (see the module docstring) and the mean L-infinity and
    L2 changes."""
    clean = space.probabilities(model, images).argmax(axis=1)
    adv = space.probabilities(model, adversarial).argmax(axis=1)
    correct = clean == labels
    if target is None:
        pool, hit = correct, adv != labels
    else:
        pool, hit = correct & (labels != target), adv == target
    change = (adversarial - images).reshape(len(images), -1).astype(np.float64)
    return {"images": int(len(images)), "clean_accuracy": float(correct.mean()), "attacked": int(pool.sum()),
            "success_rate": float(hit[pool].mean()) if pool.any() else float("nan"),
            "adversarial_accuracy": float((adv == labels).mean()),
            "mean_linf_change": float(np.abs(change).max(axis=1).mean()),
            "max_linf_change": float(np.abs(change).max()),
            "mean_l2_change": float(np.sqrt((change ** 2).sum(axis=1)).mean()), "predictions": adv}


def load_set(model, spec, count):
    """``count`` images of the dataset (the held-out digits for ``mnist``) in the image space,
    and their labels (the network's predictions where the dataset has none)."""
    source = datasets.open_source(spec)
    first = N_TRAIN if spec == datasets.MNIST else 0
    indices = range(first, min(first + count, len(source)))
    images = np.concatenate([space.image_of(model, source.load(i)) for i in indices])
    labels = np.array([source.labels[i] for i in indices])
    unlabelled = labels < 0
    if unlabelled.any():
        labels[unlabelled] = space.probabilities(model, images[unlabelled]).argmax(axis=1)
    return images, labels, [source.paths[i] for i in indices]


@register
class Adversarial(Method):
    name = "adversarial"
    title = "Adversarial examples (FGSM, PGD)"
    reference = ("I. Goodfellow, J. Shlens, C. Szegedy. Explaining and Harnessing Adversarial Examples. ICLR 2015; "
                 "A. Madry et al. Towards Deep Learning Models Resistant to Adversarial Attacks. ICLR 2018")
    url = "https://arxiv.org/abs/1412.6572"
    summary = "FGSM and PGD attacks within an L-infinity ball over a set of images, with their success rates."
    example = "minigrad adversarial --model mnist_cnn --data mnist --epsilon 0.1"
    inputs = Dataset()
    params = (
        Choice("attack", "both", "which attack", ("both", *ATTACKS)),
        Float("epsilon", 0.1, "largest change of a pixel, in units of [0, 1]", lo=0.0, hi=1.0),
        TARGET.with_help("targeted attack towards this class (index or name); default: untargeted"),
        Int("steps", 20, "PGD steps (iterations)", lo=1, hi=10000),
        Float("alpha", None, "PGD step size; default 2.5 epsilon / steps", lo=0.0, lo_open=True),
        Choice("start", "random", "PGD start: a random point of the ball or the clean image", ("random", "clean")),
        Int("count", 100, "images of the dataset to attack (mnist: the held-out digits)", lo=1, hi=100000),
        BATCH_SIZE,
    )
    presets = {"alexnet": dict(epsilon=2 / 255, count=16), "vgg16": dict(epsilon=2 / 255, count=16)}
    smoke = {"count": 4, "steps": 2}

    def compute(self, data, rng, attack="both", epsilon=0.1, target=None, steps=20, alpha=None, start="random",
                count=100, batch_size=64):
        model = self.model
        t = resolve_class(model, target) if target is not None else None
        images, labels, paths = load_set(model, data.source, count)
        kinds = ATTACKS if attack == "both" else (attack,)
        results, report = {}, {"epsilon": epsilon, "target": None if t is None else model.class_names[t],
                               "images": len(images)}
        for kind in kinds:
            adv = np.concatenate([
                run_attack(model, images[i:i + batch_size], labels[i:i + batch_size], kind, epsilon, rng, target=t,
                       steps=steps, alpha=alpha, random_start=start == "random")
                for i in range(0, len(images), batch_size)])
            results[kind] = adv
            stats = success(model, images, adv, labels, t)
            stats.pop("predictions")
            report[kind] = stats
        picture = self._picture(images, labels, results)
        caption = f"epsilon {epsilon:g} on {len(images)} images: " + "; ".join(
            f"{k.upper()} success {report[k]['success_rate']:.1%}, mean L-inf {report[k]['mean_linf_change']:.3f}"
            for k in kinds)
        return Output(arrays={"images": images, "labels": labels, **results}, picture=picture, caption=caption,
                      report=report)

    def _picture(self, images, labels, results):
        names = self.model.class_names
        rows = []
        for i in range(min(SHOWN, len(images))):
            p0 = space.probabilities(self.model, images[i:i + 1])[0]
            tiles = [imaging.panel(space.picture(images[i:i + 1]), f"{names[labels[i]]}: {names[int(p0.argmax())]}")]
            for kind, adv in results.items():
                p = space.probabilities(self.model, adv[i:i + 1])[0]
                tiles.append(imaging.panel(space.picture(adv[i:i + 1]),
                                           f"{kind.upper()}: {names[int(p.argmax())]} {p.max():.2f}"))
            rows.append(imaging.hstack(tiles))
        return imaging.vstack(rows)

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", m, "--data", demo.dataset(m), "--count", "100"),
                        f"{m}: FGSM and PGD at the preset epsilon") for m in demo.models]
