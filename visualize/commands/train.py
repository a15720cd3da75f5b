"""``minigrad train mnist``: train the embedded digit classifier with minigrad and save it.
``minigrad train generator``: train the DGN-AM generator that inverts its fc1 code
(:mod:`models.train_generator`), with a checkpoint after every epoch (``--resume`` continues).

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
    p = subparsers.add_parser("train", help="train an embedded model with minigrad (mnist, generator)")
    p.add_argument("model", choices=["mnist", "generator", "fast-style"],
                   help="what to train: mnist (the mnist_cnn digit classifier) or generator (the image generator "
                        "from mnist_cnn's fc1 code, for dgn-am)")
    p.add_argument("--out", default=None, help="weights file to write (default: weights/mnist_cnn.h5 or "
                                               "weights/mnist_generator.h5)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling, shifts and dropout (default: 0)")
    p.add_argument("--epochs", type=int, default=None,
                   help="passes over the 8,000 training images (default: 15 for mnist, 5 for generator)")
    p.add_argument("--checkpoint", default=None, help="generator: checkpoint file written after every epoch "
                                                      "(default: OUT.ckpt)")
    p.add_argument("--resume", action="store_true", help="generator: continue from --checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    from visualize import train_fast_style
    train_fast_style.add_arguments(p)
    p.set_defaults(func=run)


def run(args):
    from models import hdf5_weights, training
    from models.atomic import DestinationError, check_writable

    if args.model == "generator":
        return run_generator(args)
    if args.model == "fast-style":
        from visualize import train_fast_style
        return train_fast_style.run_cli(args)
    args.out = args.out or "weights/mnist_cnn.h5"
    epochs = training.EPOCHS if args.epochs is None else args.epochs
    if epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {epochs}")
    out = Path(args.out)
    if out.parent and not out.parent.exists():
        raise UserError(f"the folder of --out {str(out)!r} does not exist; create it or choose another path")
    try:
        check_writable(out)   # before minutes of training, not after
    except DestinationError as exc:
        raise UserError(f"--out: {exc}; choose another path") from None
    command = "minigrad train mnist " + " ".join(
        shlex.quote(a) for a in ("--out", str(args.out), "--seed", str(args.seed), "--epochs", str(epochs)))
    result = training.train_mnist(seed=args.seed, epochs=epochs, progress=not args.no_progress)
    meta = training.weights_metadata(result, command=command, seed=args.seed, epochs=epochs)
    hdf5_weights.save_weights(out, result.net.state_dict(), architecture="mnist_cnn", meta=meta)
    print(f"trained in {result.duration_s:.0f} s ({result.steps} steps); held-out accuracy "
          f"{100 * result.held_out_accuracy:.2f}% ({training.HELD_OUT_NOTE})")
    print(f"wrote {out}")
    return 0


def run_generator(args):
    """``minigrad train generator``: train, report the held-out reconstruction accuracy, write the file."""
    import models
    from models import hdf5_weights
    from models import train_generator as tg

    settings = tg.Settings(seed=args.seed, epochs=tg.EPOCHS if args.epochs is None else args.epochs)
    if settings.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {settings.epochs}")
    out = Path(args.out or "weights/mnist_generator.h5")
    if out.parent and not out.parent.exists():
        raise UserError(f"the folder of --out {str(out)!r} does not exist; create it or choose another path")
    checkpoint = Path(args.checkpoint or f"{out}.ckpt")
    command = "minigrad train generator " + " ".join(
        shlex.quote(a) for a in ("--out", str(out), "--seed", str(settings.seed), "--epochs", str(settings.epochs)))
    classifier = models.load("mnist_cnn")
    try:
        result = tg.train_generator(settings, classifier=classifier, checkpoint=checkpoint, resume=args.resume,
                                    progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    meta = tg.weights_metadata(result, classifier, command=command)
    hdf5_weights.save_weights(out, result.net.state_dict(), architecture="mnist_generator", meta=meta)
    print(f"trained in {result.duration_s:.0f} s ({result.steps} steps); final losses {meta['final_losses']}; "
          f"held-out reconstructions classified as the digit: {100 * result.reconstruction_accuracy:.1f}%")
    print(f"wrote {out} (checkpoint {checkpoint})")
    return 0
