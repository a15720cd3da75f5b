"""Training the embedded ``mnist_cnn`` with minigrad itself.

Data: only the MNIST *test* set ships (10,000 images, ``models/data/mnist``). Training uses its
first 8,000 images; the last 2,000 are held out and used for nothing but the reported accuracy
(no model selection, no early stopping on them).

Recipe: Adam (Kingma & Ba 2015), learning rate ``lr`` halved every ``lr_halving`` epochs,
mini-batches of ``batch_size`` in a freshly shuffled order each epoch, softmax cross-entropy.
Augmentation: every training image is shifted by a random integer offset in
``[-max_shift, max_shift]`` pixels in each direction (zero fill), drawn anew each time it is
seen; digits are centred by their centre of mass in MNIST, so small shifts are the natural
variation.

Reproducibility: one ``seed`` fixes everything. ``np.random.SeedSequence(seed)`` is split into
four independent streams for the initial weights, the shuffling, the shifts and the dropout
masks, so on NumPy the same seed gives the same losses and the same weight bytes.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

import backends
from minigrad import functional as F
from minigrad import no_grad, optim
from models import mnist, mnist_cnn
from models.registry import Float32Uniform

HELD_OUT_NOTE = "held-out = last 2,000 of the MNIST test set; trained on the first 8,000"
EPOCHS = 15


@dataclass
class TrainResult:
    net: object                       # the trained mnist_cnn Network (eval mode)
    losses: list = field(default_factory=list)   # training loss of every step
    held_out_accuracy: float | None = None       # fraction correct on the last 2,000 test images
    duration_s: float = 0.0           # wall-clock seconds of training (without the final evaluation)
    steps: int = 0


def shift_images(images: np.ndarray, max_shift: int, rng) -> np.ndarray:
    """Translate each image of ``images`` (N, H, W) by its own random (dy, dx) with
    ``|dy|, |dx| <= max_shift``, filling the uncovered border with zeros (vectorized gather)."""
    if max_shift == 0:
        return images
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    offsets = rng.integers(0, 2 * max_shift + 1, size=(n, 2))
    rows = offsets[:, 0:1] + np.arange(h)              # (N, H) rows of the padded image to read
    cols = offsets[:, 1:2] + np.arange(w)              # (N, W)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def to_input(net, images_uint8: np.ndarray):
    """uint8 digits (N, 28, 28) -> normalized network input (N, 1, 28, 28) via ``net.preprocess``."""
    return net.preprocess(images_uint8.astype(np.float32) / np.float32(255.0))


def predict(net, images: np.ndarray) -> np.ndarray:
    """Predicted digit (N,) for uint8 images (N, 28, 28), without recording a graph."""
    with no_grad():
        logits = net(to_input(net, images)).data
    return backends.backend_of(logits).to_numpy(logits).argmax(axis=1)


def evaluate(net, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of ``images`` (uint8 N x 28 x 28) that ``net`` (put in eval mode) classifies as ``labels``."""
    net.eval()
    correct = sum(int((predict(net, images[i:i + batch_size]) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(images), batch_size))
    return correct / len(images)


def train_mnist(seed: int = 0, epochs: int = EPOCHS, *, batch_size: int = 64, lr: float = 1e-3,
                lr_halving: int = 5, max_shift: int = 2, max_steps: int | None = None,
                progress: bool = True, evaluate_held_out: bool = True) -> TrainResult:
    """Train ``mnist_cnn`` from ``seed`` on the first 8,000 MNIST test images (see module docstring).

    ``max_steps`` stops after that many optimizer steps (for tests). The progress bar shows the
    running loss and training accuracy (on the augmented batches). Returns a :class:`TrainResult`
    whose ``held_out_accuracy`` is measured on the last 2,000 images unless
    ``evaluate_held_out`` is False.
    """
    if epochs < 1 or batch_size < 1 or max_shift < 0 or lr <= 0:
        raise ValueError(f"train_mnist: need epochs >= 1, batch_size >= 1, max_shift >= 0 and lr > 0; got "
                         f"epochs={epochs}, batch_size={batch_size}, max_shift={max_shift}, lr={lr}")
    init_seq, shuffle_seq, shift_seq, dropout_seq = np.random.SeedSequence(seed).spawn(4)
    (train_x, train_y), (held_x, held_y) = mnist.split(*mnist.load_mnist_test())
    net = mnist_cnn.build(Float32Uniform(init_seq))
    net.get_submodule(net.resolve("dropout")).rng = backends.current().rng(dropout_seq.generate_state(1)[0])
    shuffle_rng, shift_rng = np.random.default_rng(shuffle_seq), np.random.default_rng(shift_seq)
    opt = optim.Adam(net.parameters(), lr=lr)
    schedule = optim.StepLR(opt, step_size=lr_halving, gamma=0.5)
    result = TrainResult(net=net)
    steps_per_epoch = -(-len(train_x) // batch_size)
    total = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    start = time.perf_counter()
    net.train()
    with tqdm(total=total, desc="train mnist_cnn", unit="step", disable=not progress) as bar:
        for epoch in range(epochs):
            order = shuffle_rng.permutation(len(train_x))
            seen = correct = 0
            for i in range(0, len(order), batch_size):
                if result.steps == total:
                    break
                idx = order[i:i + batch_size]
                x = to_input(net, shift_images(train_x[idx], max_shift, shift_rng))
                logits = net(x)
                loss = F.cross_entropy(logits, train_y[idx].astype(np.int64))
                opt.zero_grad()
                loss.backward()
                opt.step()
                result.losses.append(float(loss.item()))
                result.steps += 1
                pred = backends.backend_of(logits.data).to_numpy(logits.data).argmax(axis=1)
                seen, correct = seen + len(idx), correct + int((pred == train_y[idx]).sum())
                bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{result.losses[-1]:.4f}",
                                acc=f"{correct / seen:.4f}")
                bar.update(1)
            schedule.step()
    result.duration_s = time.perf_counter() - start
    net.eval()
    if evaluate_held_out:
        result.held_out_accuracy = evaluate(net, held_x, held_y)
    return result


def weights_metadata(result: TrainResult, *, command: str, seed: int, epochs: int) -> dict:
    """Root attributes for ``save_weights``: the file format's required ones plus how the
    weights were made (command, seed, epochs, duration, held-out accuracy and what it means)."""
    images = mnist.DATA_DIR / mnist.IMAGES_FILE
    meta = dict(result.net.preprocessing.to_attrs())
    meta.update(
        class_names=result.net.class_names,
        source_format="minigrad-train",
        source_file=images.name,
        source_url="http://yann.lecun.com/exdb/mnist/" + images.name,
        source_sha256=hashlib.sha256(images.read_bytes()).hexdigest(),
        training_command=command,
        training_seed=np.int64(seed),
        training_epochs=np.int64(epochs),
        training_steps=np.int64(result.steps),
        training_duration_s=float(round(result.duration_s, 1)),
        held_out_accuracy=float(result.held_out_accuracy),
        held_out_note=HELD_OUT_NOTE,
    )
    return meta
