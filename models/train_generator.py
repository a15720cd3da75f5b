"""Training ``mnist_generator`` with minigrad: invert ``mnist_cnn``'s fc1 code (Dosovitskiy & Brox 2016).

Data: the codes h = E(x) of the first 8,000 shipped MNIST test digits (the classifier's
training part, :func:`models.mnist.split`), computed once by the frozen classifier E
(``mnist_cnn`` in evaluation mode, layer ``fc1``); the last 2,000 digits are held out and
used only for the reported reconstruction accuracy.

Each step, on a mini-batch (x, h) with x in [0, 1]:

    D step:  L_D = mean softplus(-D(x)) + mean softplus(D(G(h)))       (-log D, -log(1 - D))
    G step:  L_G = L_img + w_feat L_feat + w_adv L_adv
             L_img  = mean (G(h) - x)^2                                 pixels in [0, 1]
             L_feat = mean (E(G(h)) - h)^2 / mean_k Var(h_k)            the code, relative to its spread
             L_adv  = mean softplus(-D(G(h)))                           the non-saturating GAN loss

with Adam (beta1 = 0.5, as DCGAN; step sizes ``lr`` for G, ``lr_d`` for D); E's weights stay fixed (its backward
computes only the gradient with respect to its input). D and its loss follow the paper's
form; D sees only images (the paper's D also sees the code).

Reproducibility: ``np.random.SeedSequence(seed)`` gives the initial weights of G and D and,
per epoch, the shuffling order, so the same seed gives the same weights on NumPy with the
same BLAS thread count (OpenBLAS splits its sums by threads: one thread and two give
different last bits; the shipped file was made with ``OPENBLAS_NUM_THREADS=1``). A
checkpoint is written after every epoch (weights, both optimizers' moments, the loss
history); ``resume`` continues from it to the same weights as an uninterrupted run.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

import backends
from minigrad import functional as F
from minigrad import optim
from minigrad.tensor import Tensor
from models import generator as gen
from models import mnist
from models.atomic import atomic_path
from models.registry import Float32Uniform

EPOCHS = 5
HELD_OUT_RECONSTRUCTED = 1000     # held-out digits whose reconstructions are classified
RECONSTRUCTION_NOTE = ("reconstruction accuracy = fraction of the first 1,000 held-out digits (of the last 2,000 "
                       "MNIST test images) whose G(E(x)) mnist_cnn classifies as the digit's label")


@dataclass(frozen=True)
class Settings:
    """The hyperparameters of a run (a checkpoint resumes only the same settings)."""

    seed: int = 0
    epochs: int = EPOCHS
    batch_size: int = 32
    lr: float = 1e-3
    lr_d: float = 2e-4
    w_feat: float = 0.1
    w_adv: float = 0.005

    def check(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.lr_d <= 0 or self.w_feat < 0 or self.w_adv < 0:
            raise ValueError(f"train_generator: need epochs >= 1, batch_size >= 1, lr > 0 and non-negative loss "
                             f"weights; got {self}")


@dataclass
class GeneratorTrainResult:
    net: object                                   # the trained mnist_generator Network (eval mode)
    settings: Settings
    losses: dict = field(default_factory=dict)    # "d", "img", "feat", "adv": one value per step
    steps: int = 0
    epochs_done: int = 0
    duration_s: float = 0.0                       # wall-clock seconds of training, over all resumed parts
    codes: np.ndarray | None = None               # the training codes (N, 256)
    reconstruction_accuracy: float | None = None
    reconstruction_agreement: float | None = None  # same class as the classifier's on the original

    def final_losses(self) -> dict:
        """Mean of each loss over the last epoch's steps."""
        per_epoch = -(-len(self.codes) // self.settings.batch_size)
        return {k: float(np.mean(v[-per_epoch:])) for k, v in self.losses.items() if v}


LOSS_NAMES = ("d", "img", "feat", "adv")


def softplus(z):
    """log(1 + e^z) = relu(z) + log(1 + e^-|z|), stable for any z."""
    return F.relu(z) + F.log(1.0 + F.exp(-F.abs(z)))


def classifier_input(images):
    """mnist_cnn's input for gray images (N, 1, 28, 28) in [0, 1] (its normalization, differentiable)."""
    return (images - mnist.MEAN) * (1.0 / mnist.STD)


def training_codes(classifier, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """fc1 codes (N, 256) of uint8 digits (N, 28, 28), classifier frozen in evaluation mode."""
    from minigrad import no_grad
    classifier.eval()
    out = []
    with no_grad():
        for i in range(0, len(images), batch_size):
            x = Tensor(backends.current().asarray(images[i:i + batch_size, None].astype(np.float32) / 255))
            a = classifier.forward_to(classifier_input(x), gen.MNIST_CODE_LAYER).data
            out.append(backends.backend_of(a).to_numpy(a))
    return np.concatenate(out).astype(np.float32)


def _epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, epoch))).permutation(n)


def train_generator(settings: Settings = Settings(), *, classifier=None, checkpoint=None, resume: bool = False,
                    max_steps: int | None = None, max_images: int | None = None, progress: bool = True,
                    evaluate_held_out: bool = True) -> GeneratorTrainResult:
    """Train ``mnist_generator`` on ``classifier``'s fc1 codes (default: the shipped ``mnist_cnn``).

    ``checkpoint``: a path written after every epoch; with ``resume`` the run continues from
    it (ValueError when it holds other settings or another classifier). ``max_steps`` stops
    early and ``max_images`` trains on only the first images (both for tests). Returns a
    :class:`GeneratorTrainResult`.
    """
    import models
    settings.check()
    if resume and (checkpoint is None or not Path(checkpoint).exists()):
        raise FileNotFoundError(f"train_generator: no checkpoint to resume at {str(checkpoint)!r}; train without "
                                f"--resume first (a checkpoint is written after every epoch)")
    classifier = models.load("mnist_cnn") if classifier is None else classifier
    if classifier.architecture != "mnist_cnn":
        raise ValueError(f"train_generator: the generator inverts mnist_cnn's {gen.MNIST_CODE_LAYER}, got a "
                         f"{classifier.architecture} classifier")
    classifier.eval().requires_grad_(False)
    (train_x, train_y), (held_x, held_y) = mnist.split(*mnist.load_mnist_test())
    train_x = train_x[:max_images]
    images = train_x[:, None].astype(np.float32) / np.float32(255)
    codes = training_codes(classifier, train_x)
    code_var = float(codes.var(axis=0).mean())

    g_seq, d_seq = np.random.SeedSequence(settings.seed).spawn(2)
    net = gen.build_mnist_generator(Float32Uniform(g_seq))
    disc = gen.build_discriminator(Float32Uniform(d_seq))
    opt_g = optim.Adam(net.parameters(), lr=settings.lr, betas=(0.5, 0.999))
    opt_d = optim.Adam(disc.parameters(), lr=settings.lr_d, betas=(0.5, 0.999))
    result = GeneratorTrainResult(net=net, settings=settings, losses={k: [] for k in LOSS_NAMES}, codes=codes)
    sha = classifier.weights_sha256 or "random"
    if resume:
        _read_checkpoint(checkpoint, result, disc, opt_g, opt_d, sha)

    per_epoch = -(-len(images) // settings.batch_size)
    total = per_epoch * settings.epochs if max_steps is None else min(max_steps, per_epoch * settings.epochs)
    xp = backends.current()
    net.train()
    start = time.perf_counter() - result.duration_s
    with tqdm(total=total, initial=result.steps, desc="train mnist_generator", unit="step",
              disable=not progress) as bar:
        for epoch in range(result.epochs_done, settings.epochs):
            order = _epoch_order(settings.seed, epoch, len(images))
            for i in range(0, len(order), settings.batch_size):
                if result.steps >= total:
                    break
                idx = order[i:i + settings.batch_size]
                x, h = Tensor(xp.asarray(images[idx])), Tensor(xp.asarray(codes[idx]))
                losses = _step(net, disc, classifier, opt_g, opt_d, x, h, code_var, settings)
                for k, v in losses.items():
                    result.losses[k].append(v)
                result.steps += 1
                bar.set_postfix(epoch=f"{epoch + 1}/{settings.epochs}", **{k: f"{v:.4f}" for k, v in losses.items()})
                bar.update(1)
            else:
                result.epochs_done = epoch + 1
                result.duration_s = time.perf_counter() - start
                if checkpoint is not None:
                    _write_checkpoint(checkpoint, result, disc, opt_g, opt_d, sha)
                continue
            break
    result.duration_s = time.perf_counter() - start
    net.eval()
    if evaluate_held_out:
        result.reconstruction_accuracy, result.reconstruction_agreement = reconstruction_accuracy(
            net, classifier, held_x[:HELD_OUT_RECONSTRUCTED], held_y[:HELD_OUT_RECONSTRUCTED])
    return result


def _step(net, disc, classifier, opt_g, opt_d, x, h, code_var, s: Settings) -> dict:
    """One discriminator step and one generator step; the four losses as floats."""
    fake = net(h)
    disc.requires_grad_(True)
    loss_d = F.mean(softplus(-disc(x))) + F.mean(softplus(disc(fake.detach())))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()

    disc.requires_grad_(False)
    img = F.mean((fake - x) * (fake - x))
    diff = classifier.forward_to(classifier_input(fake), gen.MNIST_CODE_LAYER) - h
    feat = F.mean(diff * diff) * (1.0 / code_var)
    adv = F.mean(softplus(-disc(fake)))
    loss_g = img + s.w_feat * feat + s.w_adv * adv
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"d": float(loss_d.item()), "img": float(img.item()), "feat": float(feat.item()),
            "adv": float(adv.item())}


def reconstruction_accuracy(net, classifier, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(fraction of G(E(x)) classified as the label, fraction classified as E classifies x)
    for uint8 digits ``images`` (N, 28, 28)."""
    from minigrad import no_grad
    from models.training import predict
    codes = training_codes(classifier, images)
    with no_grad():
        out = net(Tensor(backends.current().asarray(codes))).data
    recon = np.clip(backends.backend_of(out).to_numpy(out)[:, 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    pred_recon, pred_orig = predict(classifier, recon), predict(classifier, images)
    return float((pred_recon == labels).mean()), float((pred_recon == pred_orig).mean())


# ---------------------------------------------------------------------- checkpoints
def _host(a) -> np.ndarray:
    return np.asarray(backends.backend_of(a).to_numpy(a))


def _write_checkpoint(path, result, disc, opt_g, opt_d, sha):
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["settings"] = json.dumps(result.settings.__dict__, sort_keys=True)
        f.attrs["classifier_sha256"] = sha
        f.attrs["epochs_done"], f.attrs["steps"] = result.epochs_done, result.steps
        f.attrs["duration_s"] = result.duration_s
        for name, module, opt in (("generator", result.net, opt_g), ("discriminator", disc, opt_d)):
            group = f.create_group(name)
            for i, p in enumerate(module.parameters()):
                state = opt.state.get(p, {})
                group[f"{i}/value"] = _host(p.data)
                if state:
                    group[f"{i}/exp_avg"], group[f"{i}/exp_avg_sq"] = _host(state["exp_avg"]), _host(state["exp_avg_sq"])
                    group[f"{i}"].attrs["step"] = state["step"]
        for k, v in result.losses.items():
            f[f"losses/{k}"] = np.asarray(v, np.float64)


def _read_checkpoint(path, result, disc, opt_g, opt_d, sha):
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"train_generator: {path} is not a readable checkpoint ({exc})") from exc
    with f:
        saved = json.loads(f.attrs["settings"])
        if saved != result.settings.__dict__:
            raise ValueError(f"train_generator: the checkpoint {path} was written with settings {saved}, this run "
                             f"has {result.settings.__dict__}; resume with the same options or start afresh")
        if f.attrs["classifier_sha256"] != sha:
            raise ValueError(f"train_generator: the checkpoint {path} was trained on another classifier "
                             f"(weights sha256 {f.attrs['classifier_sha256'][:12]}...), this one is {sha[:12]}...")
        result.epochs_done, result.steps = int(f.attrs["epochs_done"]), int(f.attrs["steps"])
        result.duration_s = float(f.attrs["duration_s"])
        xp = backends.current()
        for name, module, opt in (("generator", result.net, opt_g), ("discriminator", disc, opt_d)):
            for i, p in enumerate(module.parameters()):
                group = f[f"{name}/{i}"]
                p.data = xp.asarray(group["value"][()])
                if "exp_avg" in group:
                    opt.state[p] = {"step": int(group.attrs["step"]), "exp_avg": xp.asarray(group["exp_avg"][()]),
                                    "exp_avg_sq": xp.asarray(group["exp_avg_sq"][()])}
        result.losses = {k: [float(v) for v in f[f"losses/{k}"][()]] for k in LOSS_NAMES}


# ---------------------------------------------------------------------- the weights file
def weights_metadata(result: GeneratorTrainResult, classifier, *, command: str) -> dict:
    """Root attributes of the generator file: the format's required ones (the output is the
    image itself: gray, [0, 1], mean 0, std 1), the encoder (architecture, weights SHA-256,
    code layer, per-unit range and mean of the training codes) and how it was trained
    (command, seed, epochs, steps, duration, final losses, held-out reconstruction accuracy)."""
    images = mnist.DATA_DIR / mnist.IMAGES_FILE
    codes = result.codes
    s = result.settings
    meta = dict(gen.IDENTITY_L.to_attrs())
    meta.update(
        class_names=[],
        source_format="minigrad-train",
        source_file=images.name,
        source_url="http://yann.lecun.com/exdb/mnist/" + images.name,
        source_sha256=hashlib.sha256(images.read_bytes()).hexdigest(),
        encoder_architecture=classifier.architecture,
        encoder_weights_sha256=classifier.weights_sha256 or "random",
        code_layer=gen.MNIST_CODE_LAYER,
        code_size=np.int64(codes.shape[1]),
        code_min=codes.min(axis=0).astype(np.float64),
        code_max=codes.max(axis=0).astype(np.float64),
        code_mean=codes.mean(axis=0).astype(np.float64),
        training_command=command,
        training_seed=np.int64(s.seed),
        training_epochs=np.int64(s.epochs),
        training_steps=np.int64(result.steps),
        training_settings=json.dumps(s.__dict__, sort_keys=True),
        training_duration_s=float(round(result.duration_s, 1)),
        final_losses=json.dumps({k: round(v, 6) for k, v in result.final_losses().items()}, sort_keys=True),
    )
    if result.reconstruction_accuracy is not None:
        meta.update(reconstruction_accuracy=float(result.reconstruction_accuracy),
                    reconstruction_agreement=float(result.reconstruction_agreement),
                    reconstruction_note=RECONSTRUCTION_NOTE)
    return meta
