"""Training the fast-style network (:mod:`models.fast_style`) for several paintings at once
(Johnson, Alahi & Fei-Fei 2016; Dumoulin, Shlens & Kudlur 2017).

Each step draws ``batch`` content crops and gives sample i the style
s_i = (step * batch + i) mod S, so every style is trained equally often (with a batch of S,
every style at every step). The loss of one sample, with the loss network's features phi at
the content layers and Gram matrices G at the style layers (the distances of
:mod:`visualize.style_losses`, relative squared errors),

    L_i = w_c E_content(phi(T(x_i, s_i)), phi(x_i)) + w_s E_style(G(T(x_i, s_i)), G(painting s_i))

is averaged over the batch and minimized over the network's weights with Adam. Crops: a
random training image, its shorter side scaled to a random length in
[``size`` * 1.5, ``size`` * 4], a random ``size`` x ``size`` window, flipped left-right with
probability 1/2 (Pillow's bilinear resize). The paintings' Gram matrices are computed once,
each painting's shorter side scaled to ``style_size``.

Loss networks: ``random_multiscale`` (Ustyuzhaninov et al. 2016; offline, built from a seed)
with ``loss_filters`` filters per scale, content and style at ``relu1``; or ``vgg16``
(Johnson's layers: content relu2_2, style relu1_2, relu2_2, relu3_3, relu4_3) once its weights
are present (``minigrad weights fetch vgg16``).

Reproducibility: the weights start from ``seed``; step k draws its crops from a generator
seeded by (seed, k), so a run resumed from a checkpoint (weights, Adam's moments, the loss
history) continues with exactly the losses of an uninterrupted run.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np
from PIL import Image
from tqdm import tqdm

import backends
from minigrad import no_grad
from minigrad.optim import Adam
from minigrad.tensor import Tensor
from models import fast_style
from models.atomic import atomic_path
from models.images import load_image, resize_shorter_side
from visualize.style_losses import content_distance, gram, gram_distance

LOSS_NETS = {"random_multiscale": {"content": ("relu1",), "style": ("relu1",)},
             "vgg16": {"content": ("relu2_2",), "style": ("relu1_2", "relu2_2", "relu3_3", "relu4_3")}}
LOSS_PARTS = ("content", "style")
SCALE_RANGE = (1.5, 4.0)   # the shorter side of a content image before cropping, in crop sizes


@dataclass(frozen=True)
class Settings:
    """The hyperparameters of a run (a checkpoint resumes only the same settings)."""

    styles: tuple                       # painting paths, in style-index order
    content: tuple                      # content image paths (the sklearn samples as "sklearn:NAME")
    loss_net: str = "random_multiscale"
    loss_filters: int = 16              # random_multiscale: filters per scale
    size: int = 64                      # content crop side
    style_size: int = 128               # the paintings' shorter side for their Gram matrices
    batch: int = 5
    steps: int = 7000                   # the defaults are the shipped weights' run
    lr: float = 2e-3
    content_weight: float = 1.0
    style_weight: float = 2.0
    widths: tuple = fast_style.WIDTHS
    seed: int = 0

    def check(self):
        if self.loss_net not in LOSS_NETS:
            raise ValueError(f"--loss-net {self.loss_net!r}: choose one of {', '.join(LOSS_NETS)}")
        if not self.styles:
            raise ValueError("--styles: give at least one painting")
        if not self.content:
            raise ValueError("--content: no content images found")
        if self.size < 16 or self.size % 4:
            raise ValueError(f"--size {self.size}: the crop side must be a multiple of 4, at least 16")
        if self.batch < 1 or self.steps < 1 or self.lr <= 0 or self.style_size < 16 or self.loss_filters < 1:
            raise ValueError(f"need --batch >= 1, --steps >= 1, lr > 0, style size >= 16; got {self}")
        if self.content_weight < 0 or self.style_weight < 0:
            raise ValueError("loss weights must be non-negative")

    @property
    def style_names(self) -> tuple:
        return tuple(Path(p).stem for p in self.styles)


@dataclass
class TrainResult:
    net: fast_style.FastStyleNet
    settings: Settings
    losses: dict = field(default_factory=lambda: {k: [] for k in LOSS_PARTS})
    steps: int = 0
    duration_s: float = 0.0        # wall-clock seconds of training, over all resumed parts
    stopped_early: bool = False    # the time limit ended the run before settings.steps

    def final_losses(self, last: int = 50) -> dict:
        """Each loss part's mean over the last ``last`` steps."""
        return {k: float(np.mean(v[-last:])) for k, v in self.losses.items() if v}


# ---------------------------------------------------------------------------------- data
def sklearn_images() -> list:
    """The sample photographs scikit-learn carries (china.jpg, flower.jpg) as content sources."""
    return ["sklearn:china.jpg", "sklearn:flower.jpg"]


def read_content(source: str) -> np.ndarray:
    """A content image (H, W, 3) float32 in [0, 1]: a path, or ``sklearn:NAME`` for one of
    :func:`sklearn.datasets.load_sample_image`'s photographs."""
    if source.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image
        return load_sample_image(source.split(":", 1)[1]).astype(np.float32) / 255
    return load_image(source)


def random_crop(image: np.ndarray, size: int, rng) -> np.ndarray:
    """A random ``size`` x ``size`` window of ``image`` with its shorter side first scaled to a
    random length in SCALE_RANGE crop sizes, flipped left-right with probability 1/2."""
    h, w = image.shape[:2]
    short = int(round(size * rng.uniform(*SCALE_RANGE)))
    nh, nw = max(size, round(h * short / min(h, w))), max(size, round(w * short / min(h, w)))
    pil = Image.fromarray(np.round(image * 255).astype(np.uint8)).resize((nw, nh), Image.BILINEAR)
    top, left = int(rng.integers(0, nh - size + 1)), int(rng.integers(0, nw - size + 1))
    crop = np.asarray(pil, np.float32)[top:top + size, left:left + size] / 255
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def batch_for_step(images: list, settings: Settings, step: int):
    """(crops (B, 3, size, size), style indices (B,)) of step ``step``, from the generator
    seeded by (seed, step): the same for every run and every resume."""
    rng = np.random.default_rng([settings.seed, step])
    picks = rng.integers(0, len(images), settings.batch)
    crops = np.stack([random_crop(images[i], settings.size, rng) for i in picks]).transpose(0, 3, 1, 2)
    styles = (step * settings.batch + np.arange(settings.batch)) % len(settings.styles)
    return np.ascontiguousarray(crops, np.float32), styles


# ---------------------------------------------------------------------------------- losses
def loss_network(settings: Settings):
    """The frozen loss network of ``settings``."""
    import models
    if settings.loss_net == "random_multiscale":
        from models.random_multiscale import build_random_multiscale
        net = build_random_multiscale(filters_per_scale=settings.loss_filters)
    else:
        net = models.load(settings.loss_net)
    return net.eval().requires_grad_(False)


def normalized(net, images):
    """The loss network's input for images (N, 3, H, W) in [0, 1] (its RGB normalization,
    differentiable)."""
    p = net.preprocessing
    lo, hi = p.input_range
    mean = (np.asarray(p.mean, np.float32) - lo) / (hi - lo)
    std = np.asarray(p.std, np.float32) / (hi - lo)
    xp = images.backend.xp
    return (images - xp.asarray(mean.reshape(1, 3, 1, 1))) * xp.asarray((1.0 / std).reshape(1, 3, 1, 1))


def style_targets(net, settings: Settings) -> list:
    """Per painting, {style layer: its Gram matrix (C, C)}."""
    layers = LOSS_NETS[settings.loss_net]["style"]
    out = []
    with no_grad():
        for path in settings.styles:
            img = resize_shorter_side(load_image(path), settings.style_size)
            x = Tensor(backends.current().asarray(np.ascontiguousarray(img.transpose(2, 0, 1)[None])))
            acts = net.capture(normalized(net, x), layers)
            out.append({k: backends.backend_of(gram(a).data).to_numpy(gram(a).data)[0] for k, a in acts.items()})
    return out


def style_distances(loss_net, image: np.ndarray, targets: list, loss_net_name: str = "random_multiscale",
                    relative: bool = True) -> list:
    """The Gram distance of ``image`` (H, W, 3) in [0, 1] to each painting's Gram matrices
    in ``targets`` (from :func:`style_targets`): ``relative`` the training's E_style
    (sum_l ||G_l - A_l||^2 / ||A_l||^2, each painting scaled by its own norm), else the
    Euclidean distance sqrt(sum_l ||G_l - A_l||^2) in Gram space, one scale for every painting
    (the question "which painting is nearest" compares distances across paintings)."""
    layers = LOSS_NETS[loss_net_name]["style"]
    x = Tensor(backends.current().asarray(np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)[None])))
    with no_grad():
        acts = loss_net.capture(normalized(loss_net, x), layers)
        if relative:
            return [float(gram_distance(t).parts(acts)["style"].data) for t in targets]
        grams = {k: backends.backend_of(a.data).to_numpy(gram(a).data)[0].astype(np.float64) for k, a in acts.items()}
        return [float(np.sqrt(sum(((grams[k] - t[k]) ** 2).sum() for k in layers))) for t in targets]


def step_loss(net, loss_net, objectives, crops, styles, settings: Settings):
    """(total loss tensor, {part: float}) of one batch."""
    layers = LOSS_NETS[settings.loss_net]
    xp = backends.current()
    x = Tensor(xp.asarray(crops))
    with no_grad():
        content_target = {k: a.data for k, a in loss_net.capture(normalized(loss_net, x), layers["content"]).items()}
    y = net(x, styles)
    acts = loss_net.capture(normalized(loss_net, y), tuple(dict.fromkeys(layers["content"] + layers["style"])))
    n = len(styles)
    content = None
    style = None
    for i, s in enumerate(styles):
        one = {k: a[i:i + 1] for k, a in acts.items()}
        c = content_distance({k: v[i:i + 1] for k, v in content_target.items()}).parts(one)["content"]
        g = objectives[s].parts(one)["style"]
        content = c if content is None else content + c
        style = g if style is None else style + g
    content, style = content * (1.0 / n), style * (1.0 / n)
    total = content * settings.content_weight + style * settings.style_weight
    return total, {"content": float(content.data), "style": float(style.data)}


# ---------------------------------------------------------------------------------- training
def train(settings: Settings, *, checkpoint=None, checkpoint_every: int = 100, resume: bool = False,
          time_limit_s: float | None = None, progress: bool = True) -> TrainResult:
    """Train a network for ``settings``; a checkpoint every ``checkpoint_every`` steps (and at
    the end) when ``checkpoint`` is a path; ``resume`` continues from it. ``time_limit_s``
    stops early (after a checkpoint) once that much wall time has passed in this call."""
    settings.check()
    images = [read_content(p) for p in settings.content]
    net = fast_style.FastStyleNet(settings.style_names, settings.widths, rng=np.random.default_rng(settings.seed))
    net.train()
    opt = Adam(net.parameters(), lr=settings.lr)
    result = TrainResult(net, settings)
    if resume:
        if checkpoint is None or not Path(checkpoint).exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}; train without --resume first")
        _read_checkpoint(checkpoint, result, opt)
    loss_net = loss_network(settings)
    objectives = [gram_distance(t) for t in style_targets(loss_net, settings)]
    start = time.perf_counter()
    base_duration = result.duration_s
    bar = tqdm(range(result.steps, settings.steps), initial=result.steps, total=settings.steps, desc="fast-style",
               unit="step", disable=not progress)
    for step in bar:
        crops, styles = batch_for_step(images, settings, step)
        opt.zero_grad()
        total, parts = step_loss(net, loss_net, objectives, crops, styles, settings)
        total.backward()
        opt.step()
        for k, v in parts.items():
            result.losses[k].append(v)
        result.steps = step + 1
        result.duration_s = base_duration + time.perf_counter() - start
        bar.set_postfix({k: f"{np.mean(v[-20:]):.4f}" for k, v in result.losses.items()})
        over_time = time_limit_s is not None and time.perf_counter() - start >= time_limit_s
        if checkpoint is not None and (result.steps % checkpoint_every == 0 or result.steps == settings.steps
                                       or over_time):
            _write_checkpoint(checkpoint, result, opt)
        if over_time and result.steps < settings.steps:
            result.stopped_early = True
            break
    bar.close()
    net.eval()
    return result


def settings_from_record(meta: dict) -> Settings:
    """The :class:`Settings` a weights file was trained with (its ``settings`` record)."""
    record = dict(meta["settings"])
    return Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()})


def weights_metadata(result: TrainResult, command: str) -> dict:
    """The training record stored in the weights file."""
    s = result.settings
    return {"training_command": command, "seed": s.seed, "training_seconds": round(result.duration_s, 1),
            "steps": result.steps, "stopped_early": result.stopped_early,
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(s).items()},
            "final_losses": result.final_losses(),
            "loss_history": {k: [round(float(np.mean(v[i:i + 20])), 5) for i in range(0, len(v), 20)]
                             for k, v in result.losses.items()},
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


# ---------------------------------------------------------------------------------- checkpoints
def _settings_json(settings: Settings) -> str:
    return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
                      sort_keys=True)


def _write_checkpoint(path, result: TrainResult, opt) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["settings"] = _settings_json(result.settings)
        f.attrs["steps"], f.attrs["duration_s"] = result.steps, result.duration_s
        for i, p in enumerate(result.net.parameters()):
            f[f"params/{i}"] = backends.backend_of(p.data).to_numpy(p.data)
            state = opt.state.get(p)
            if state:
                f[f"exp_avg/{i}"] = backends.backend_of(p.data).to_numpy(state["exp_avg"])
                f[f"exp_avg_sq/{i}"] = backends.backend_of(p.data).to_numpy(state["exp_avg_sq"])
                f[f"exp_avg/{i}"].attrs["step"] = state["step"]
        for k, v in result.losses.items():
            f[f"losses/{k}"] = np.asarray(v, np.float64)


def _read_checkpoint(path, result: TrainResult, opt) -> None:
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"--resume: {path} is not a readable checkpoint ({exc})") from None
    with f:
        if f.attrs["settings"] != _settings_json(result.settings):
            raise ValueError(f"--resume: the checkpoint {path} was written with settings {f.attrs['settings']}; this "
                             f"run has {_settings_json(result.settings)}. Resume with the same options or start afresh")
        result.steps, result.duration_s = int(f.attrs["steps"]), float(f.attrs["duration_s"])
        xp = backends.current()
        for i, p in enumerate(result.net.parameters()):
            p.data[...] = xp.asarray(f[f"params/{i}"][()])
            if f"exp_avg/{i}" in f:
                opt.state[p] = {"step": int(f[f"exp_avg/{i}"].attrs["step"]),
                                "exp_avg": xp.asarray(f[f"exp_avg/{i}"][()]),
                                "exp_avg_sq": xp.asarray(f[f"exp_avg_sq/{i}"][()])}
        result.losses = {k: [float(v) for v in f[f"losses/{k}"][()]] for k in LOSS_PARTS}


# ---------------------------------------------------------------------------------- command line
HELD_OUT = "tuebingen_neckarfront.jpg"   # the shipped photo kept out of training (tests, gallery)


def default_content() -> list:
    """The shipped photos except :data:`HELD_OUT`, and scikit-learn's two sample photographs."""
    shipped = [p for p in _shipped("content") if Path(p).name != HELD_OUT]
    return shipped + sklearn_images()


def default_styles() -> list:
    """The five shipped paintings."""
    return _shipped("style")


def _shipped(folder: str) -> list:
    """The shipped images of models/data/FOLDER, relative to the working folder when inside it."""
    import os

    import models
    root = Path(models.__file__).resolve().parent / "data" / folder
    paths = sorted(root.glob("*.jpg"))
    cwd = Path.cwd().resolve()
    return [os.path.relpath(p, cwd) if cwd in p.parents else str(p) for p in paths]


def add_arguments(parser) -> None:
    """The flags of ``minigrad train fast-style`` (the shared --out, --seed, --checkpoint,
    --resume and --no-progress are the train command's)."""
    g = parser.add_argument_group("fast-style")
    g.add_argument("--styles", nargs="+", default=None, metavar="PATH",
                   help="fast-style: paintings (files or folders) to learn, one style each, named by file stem "
                        "(default: the five shipped paintings)")
    g.add_argument("--content", nargs="+", default=None, metavar="SRC",
                   help="fast-style: content photos (files or folders; 'sklearn' adds scikit-learn's two sample "
                        f"photos) (default: the shipped photos but {HELD_OUT}, and 'sklearn')")
    g.add_argument("--loss-net", default="random_multiscale", choices=sorted(LOSS_NETS),
                   help="fast-style: loss network (vgg16 needs its weights: minigrad weights fetch vgg16)")
    g.add_argument("--size", type=int, default=Settings.size, help="fast-style: content crop side in pixels")
    g.add_argument("--batch", type=int, default=Settings.batch, help="fast-style: crops per step")
    g.add_argument("--steps", type=int, default=Settings.steps, help="fast-style: Adam steps")
    g.add_argument("--style-weight", type=float, default=Settings.style_weight,
                   help="fast-style: weight of the Gram (style) distance (content weight 1)")
    g.add_argument("--checkpoint-every", type=int, default=100, metavar="N",
                   help="fast-style: write the checkpoint every N steps")
    g.add_argument("--time-limit", type=float, default=None, metavar="MIN",
                   help="fast-style: stop after MIN minutes of training (after a checkpoint; --resume continues)")


def content_sources(items) -> list:
    """Paths (folders expanded) and 'sklearn' -> the content list of :class:`Settings`."""
    from visualize.inputs import find_images
    out = []
    for item in items:
        if item == "sklearn":
            out.extend(sklearn_images())
        else:
            out.extend(str(p) for p in find_images([item]))
    return out


def run_cli(args) -> int:
    """``minigrad train fast-style``: train, write the weights file with the training record."""
    import shlex

    from visualize.errors import UserError
    from visualize.inputs import find_images
    out = Path(args.out or "weights/fast_style.h5")
    if out.parent and not out.parent.exists():
        raise UserError(f"the folder of --out {str(out)!r} does not exist; create it or choose another path")
    try:
        styles = [str(p) for p in find_images(args.styles)] if args.styles else default_styles()
        content = content_sources(args.content) if args.content else default_content()
        settings = Settings(styles=tuple(styles), content=tuple(content), loss_net=args.loss_net, size=args.size,
                            batch=args.batch, steps=args.steps, style_weight=args.style_weight, seed=args.seed)
        settings.check()
        if len(set(settings.style_names)) != len(styles):
            raise ValueError(f"--styles: two paintings have the same file name: {list(settings.style_names)}")
        if args.checkpoint_every < 1:
            raise ValueError(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
        checkpoint = Path(args.checkpoint or f"{out}.ckpt")
        result = train(settings, checkpoint=checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume,
                       time_limit_s=None if args.time_limit is None else 60 * args.time_limit,
                       progress=not args.no_progress)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise UserError(str(exc).strip('"')) from None
    command = "minigrad train fast-style " + " ".join(shlex.quote(a) for a in (
        "--out", str(out), "--seed", str(args.seed), "--styles", *styles,
        *(("--content", *args.content) if args.content else ()), "--loss-net", args.loss_net,
        "--size", str(args.size), "--batch", str(args.batch), "--steps", str(args.steps),
        "--style-weight", str(args.style_weight),
        *(() if args.time_limit is None else ("--time-limit", str(args.time_limit)))))
    fast_style.save(result.net, out, weights_metadata(result, command))
    state = f"stopped by --time-limit at step {result.steps} of {settings.steps}" if result.stopped_early else \
        f"{result.steps} steps"
    print(f"trained in {result.duration_s:.0f} s ({state}); final losses {result.final_losses()}")
    print(f"wrote {out} (checkpoint {checkpoint})")
    return 0
