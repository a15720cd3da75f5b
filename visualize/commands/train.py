"""``minigrad train mnist``: train the embedded digit classifier with minigrad and save it.

Trains ``mnist_cnn`` on the first 8,000 MNIST test images (see :mod:`models.training`), reports
the accuracy on the last 2,000 (held out), and writes the weights in minigrad's HDF5 layout with
the command, seed, duration and held-out accuracy in the file's metadata. An existing file is
replaced only when the new one is complete and valid (temporary name, then ``os.replace``).
"""
from __future__ import annotations

import shlex
from pathlib import Path

from visualize.errors import UserError


def register(subparsers):
    p = subparsers.add_parser("train", help="train an embedded model with minigrad (mnist)")
    p.add_argument("model", choices=["mnist"], help="what to train: mnist (the mnist_cnn digit classifier)")
    p.add_argument("--out", default="weights/mnist_cnn.h5", help="weights file to write (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling, shifts and dropout (default: 0)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the 8,000 training images (default: 15)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args):
    from models import hdf5_weights, training

    epochs = training.EPOCHS if args.epochs is None else args.epochs
    if epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {epochs}")
    out = Path(args.out)
    if out.parent and not out.parent.exists():
        raise UserError(f"the folder of --out {str(out)!r} does not exist; create it or choose another path")
    command = "minigrad train mnist " + " ".join(
        shlex.quote(a) for a in ("--out", str(args.out), "--seed", str(args.seed), "--epochs", str(epochs)))
    result = training.train_mnist(seed=args.seed, epochs=epochs, progress=not args.no_progress)
    meta = training.weights_metadata(result, command=command, seed=args.seed, epochs=epochs)
    hdf5_weights.save_weights(out, result.net.state_dict(), architecture="mnist_cnn", meta=meta)
    print(f"trained in {result.duration_s:.0f} s ({result.steps} steps); held-out accuracy "
          f"{100 * result.held_out_accuracy:.2f}% ({training.HELD_OUT_NOTE})")
    print(f"wrote {out}")
    return 0
