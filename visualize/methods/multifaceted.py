"""Multifaceted feature visualization (Nguyen, Yosinski & Clune 2016).

A class is recognized from several kinds of images (a 7 with and without its bar, slanted and
upright 1s); one activation-maximization image mixes them. Separate them first:

1. the class's images in the dataset (those labelled with it when the dataset's classes are
   the model's, as for ``mnist`` on ``mnist_cnn``; otherwise the ``per_class`` images with the
   highest class score) and their features at ``layer`` (the last hidden layer by default,
   fc7 / relu_fc1, from :mod:`models.features`);
2. k-means (scikit-learn, seeded) on the features: k clusters, the facets;
3. for each facet, start from the mean image of its cluster and ascend the class score

       I* = argmax_I  S_c(I) - tv TV(I)

   with the paper's regularizers: random jitter, L1-normalized gradient steps
   (``normalize="mean-abs"``), clipping to the valid range, total variation, and the
   centre-biased regularization: the region the optimization may change starts as a disc of
   radius ``centre_start`` (a fraction of the image's half-diagonal) around the centre and
   grows linearly to the whole image over the run; outside it the pixels stay at the start
   image, so the object the optimization paints is centred, as the training images are.

The picture shows one row per facet: the synthesized image, the cluster's mean image (the
start), and the real images of the cluster closest to its centre in feature space.

A. Nguyen, J. Yosinski, J. Clune. "Multifaceted Feature Visualization: Uncovering the Different
Types of Features Learned By Each Neuron in Deep Neural Networks." ICML Visualization for Deep
Learning Workshop 2016. arXiv:1602.03616.
"""
from __future__ import annotations

import numpy as np

import backends
from minigrad import no_grad
from visualize import imaging
from visualize.feature_space import FEATURES, LIMIT, dataset_source, default_feature_layer, feature_file
from visualize.input_kinds import Dataset
from visualize.inputs import predict, resolve_class
from visualize.method import Example, Method, Output, register
from visualize.optvis import objectives, param, projections, regularizers, space, transforms
from visualize.optvis.render import render
from visualize.params import BATCH_SIZE, TARGET, Float, Int, Layer


class CentreBias:
    """The centre-biased projection: after step t of ``steps``, pixels farther from the centre
    than r(t) = r0 + (1 - r0) t / steps (in units of the half-diagonal) are reset to
    ``start``, with a one-pixel soft edge."""

    def __init__(self, start: np.ndarray, steps: int, r0: float):
        self.start, self.steps, self.r0 = start, max(steps, 1), r0
        h, w = start.shape[2:]
        yy, xx = np.mgrid[:h, :w]
        self.distance = np.hypot(yy + 0.5 - h / 2, xx + 0.5 - w / 2)     # pixels from the centre
        self.half_diagonal = np.hypot(h / 2, w / 2)

    def mask(self, step: int) -> np.ndarray:
        radius = (self.r0 + (1 - self.r0) * min(step + 1, self.steps) / self.steps) * self.half_diagonal
        return np.clip(radius - self.distance + 0.5, 0.0, 1.0).astype(np.float32)

    def __call__(self, pixels, grad, step):
        backend = backends.backend_of(pixels)
        m = backend.asarray(self.mask(step), dtype=pixels.dtype)
        start = backend.asarray(self.start, dtype=pixels.dtype)
        pixels[...] = start + m * (pixels - start)


def class_members(model, f, source, target: int, per_class: int, batch_size: int) -> np.ndarray:
    """Rows of the features file ``f`` that show class ``target`` (see the module docstring)."""
    if list(f.class_names) == list(model.class_names) and (f.labels >= 0).all():
        return np.flatnonzero(f.labels == target)
    scores = []
    with no_grad():
        for i in range(0, len(f), batch_size):
            batch = np.concatenate([space.image_of(model, source.load(j)) for j in range(i, min(i + batch_size, len(f)))])
            scores.append(predict(model, space.to_input(model, space.tensor(model, batch)))[:, target])
    return np.sort(np.argsort(-np.concatenate(scores), kind="stable")[:per_class])


@register
class Multifaceted(Method):
    name = "multifaceted"
    title = "Multifaceted feature visualization"
    reference = ("A. Nguyen, J. Yosinski, J. Clune. Multifaceted Feature Visualization: Uncovering the Different "
                 "Types of Features Learned By Each Neuron in Deep Neural Networks. ICML VisDL Workshop 2016")
    url = "https://arxiv.org/abs/1602.03616"
    summary = ("k-means on a class's dataset features gives its facets; each is synthesized from its cluster's "
               "mean image with centre-biased regularization, shown beside the closest real images.")
    example = "minigrad multifaceted --model mnist_cnn --data mnist --class 7 --k 4"
    inputs = Dataset()
    params = (
        TARGET.with_help("class whose facets to show (index or name); default: class 0"),
        Layer("layer", None, "feature layer clustered; default: the last hidden layer (fc7 / relu_fc1)"),
        Int("k", 4, "facets (k-means clusters)", lo=1, hi=32),
        Int("per_class", 200, "images of the class when the dataset's labels are not the model's classes "
                              "(those with the highest class score)", lo=1),
        Int("neighbours", 5, "real images shown beside each facet", lo=0, hi=20),
        Int("steps", 40, "gradient steps per facet (more steps drift from the facet towards one class image)",
            lo=1, hi=100000),
        Float("lr", 0.006, "step size of the L1-normalized steps, in pixel units of [0, 1]", lo=0.0, lo_open=True),
        Float("tv", 1.0, "weight of the total-variation penalty", lo=0.0),
        Int("jitter", 1, "random shift of up to this many pixels before each step", lo=0),
        Float("centre_start", 0.4, "radius of the region optimized at the first step (fraction of the half "
                                   "diagonal; 1: no centre bias)", lo=0.0, hi=1.0),
        FEATURES,
        LIMIT,
        BATCH_SIZE,
    )
    presets = {"alexnet": {"jitter": 8, "lr": 0.02, "tv": 0.05}, "vgg16": {"jitter": 8, "lr": 0.02, "tv": 0.05}}
    smoke = {"limit": 24, "k": 2, "steps": 3, "neighbours": 2, "per_class": 8}

    def resolve(self, params):
        return {**params, "layer": params["layer"] or default_feature_layer(self.model),
                "target": 0 if params["target"] is None else params["target"]}

    def compute(self, data, rng, target=0, layer=None, k=4, per_class=200, neighbours=5, steps=40, lr=0.006,
                tv=1.0, jitter=1, centre_start=0.4, features=None, limit=None, batch_size=64):
        from sklearn.cluster import KMeans
        model = self.model
        c = resolve_class(model, target)
        name = model.class_names[c]
        source = dataset_source(data.source, limit)
        with feature_file(model, data.source, [layer], "avg", features, batch_size, limit) as f:
            members = class_members(model, f, source, c, per_class, batch_size)
            if len(members) < k:
                raise ValueError(f"class {name!r} has {len(members)} image(s) in --data {data.source!r}; k-means "
                                 f"into --k {k} facets needs at least {k}")
            x = f.features(layer)[members].reshape(len(members), -1).astype(np.float64)
            km = KMeans(n_clusters=k, n_init=4, random_state=int(rng.integers(2 ** 31))).fit(x)
            order = np.argsort(-np.bincount(km.labels_, minlength=k), kind="stable")   # largest facet first
            starts, closest, sizes = [], [], []
            for j in order:
                rows = members[km.labels_ == j]
                starts.append(np.mean([space.image_of(model, source.load(i))[0] for i in rows], axis=0))
                d = np.linalg.norm(x[km.labels_ == j] - km.cluster_centers_[j], axis=1)
                closest.append(rows[np.argsort(d, kind="stable")[:neighbours]])
                sizes.append(len(rows))
            thumbs = [f.thumbnails(r) if len(r) else None for r in closest]
            paths = [[f.paths[i] for i in r] for r in closest]
        start = np.stack(starts).astype(np.float32)
        dtype, backend = model.parameters()[0].dtype, model.parameters()[0].backend
        image = param.Pixels(start, backend=backend, dtype=dtype)
        run = render(model, objectives.class_logit(c) - tv * regularizers.total_variation(), image, steps=steps,
                     optimizer="sgd", lr=lr, normalize="mean-abs",
                     transform=transforms.jitter(jitter) if jitter else None,
                     projections=[CentreBias(start, steps, centre_start), projections.ClipRange()],
                     rng=rng, progress=True, description="multifaceted")
        p = predict(model, space.to_input(model, space.tensor(model, run.image)))[:, c]
        rows = []
        side = max(start.shape[2], 84)
        for j in range(k):
            tiles = [imaging.label_above(imaging.upscale(space.picture(run.image[j:j + 1]), side),
                                         f"facet {j + 1}: p={p[j]:.3f}"),
                     imaging.label_above(imaging.upscale(space.picture(start[j:j + 1]), side),
                                         f"mean of {sizes[j]}")]
            if thumbs[j] is not None:
                real = [imaging.upscale(t.astype(np.float32) / 255, side // 2 + 8) for t in thumbs[j]]
                tiles.append(imaging.label_above(imaging.tile_grid(real, columns=len(real)), "closest real images"))
            rows.append(imaging.hstack(tiles))
        caption = (f"class {name!r}: {k} facets of {len(members)} images by k-means on {layer}; {run.steps} steps "
                   f"from each facet's mean image, centre-biased; p of the class {p.min():.3f} to {p.max():.3f}")
        report = {"class": c, "class_name": name, "layer": layer, "images": int(len(members)),
                  "facet_sizes": sizes, "probabilities": [float(v) for v in p], "closest": paths,
                  "steps": run.steps, "kmeans_inertia": float(km.inertia_)}
        return Output(arrays={"images": run.image, "starts": start, "probabilities": p},
                      picture=imaging.vstack(rows, gap=8), caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        """The digit nets (the demo's photos are too few to cluster)."""
        return [Example(("--model", m, "--data", demo.dataset(m), "--features", demo.features(m), "--class", "7",
                         "--k", "5"), f"{m}: five facets of the 7s") for m in demo.models
                if demo.dataset(m) == "mnist"]
