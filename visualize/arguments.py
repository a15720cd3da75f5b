"""The command-line side of every method, written once.

A method's sub-command module is two lines::

    from visualize.arguments import method_command
    from visualize.methods.saliency import Saliency
    register = method_command(Saliency)

:func:`method_command` builds the parser from the method class: the common options
(``--model``, ``--image``, ``--backend``, ``--seed``, ``--out``, ``--save-arrays``) and one
option per hyperparameter (``target`` is ``--class``, the others ``--<name>``), with the
method's summary, paper and an example in ``--help``. :func:`run_method` loads the model and
images, checks the layer and class names before any work, runs the method on each image,
saves each result and prints where it went. User mistakes become
:class:`visualize.cli.UserError` (one line, exit status 2).
"""
from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

from tqdm import tqdm

import backends
from visualize.inputs import find_images, resolve_class

__all__ = ["method_command", "run_method", "load_model", "DEFAULT_MODEL"]

DEFAULT_MODEL = "mnist_cnn"
_FLAGS = {"target": "--class"}


def _user_error(message):
    from visualize.cli import UserError  # cli imports the commands, so import it late
    return UserError(message)


def _message(exc) -> str:
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


@functools.lru_cache(maxsize=3)
def load_model(name_or_path: str, backend: str | None = None):
    """``models.load`` with the failures a user can cause turned into UserError; cached, so
    the demo loads each network once."""
    import models
    try:
        return models.load(name_or_path, backend=backend)
    except (FileNotFoundError, KeyError, ValueError, OSError) as exc:
        raise _user_error(f"cannot load model {name_or_path!r}: {_message(exc)}") from exc


def method_command(method):
    """A ``register(subparsers)`` function for the sub-command of ``method`` (a Method class)."""

    def register(subparsers):
        epilog = f"paper: {method.reference}\n       {method.url}\n\nexample:\n  {method.example}"
        p = subparsers.add_parser(method.name, help=method.summary, description=f"{method.title}: {method.summary}",
                                  epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--model", default=DEFAULT_MODEL,
                       help=f"registered model name or HDF5 weights path (default: {DEFAULT_MODEL})")
        if method.needs_image:
            p.add_argument("--image", nargs="+", required=True, metavar="PATH",
                           help="image files, or folders of images")
        for param in method.params:
            flag = _FLAGS.get(param.name, "--" + param.name.replace("_", "-"))
            presets = ", ".join(f"{arch} {_show(values[param.name])}" for arch, values in method.presets.items()
                                if param.name in values)
            shown = [f"default: {_show(param.default)}"] if param.default is not None else []
            default = f" ({'; '.join(shown + [presets] if presets else shown)})" if shown or presets else ""
            p.add_argument(flag, dest=param.name, default=None, type=param.parse, choices=param.choices,
                           help=param.help + default)
        p.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                       help="array backend (default: $MINIGRAD_BACKEND or numpy)")
        p.add_argument("--seed", type=int, default=0, help="seed of every random step (default: 0)")
        p.add_argument("--out", default="minigrad-out", help="output folder (default: minigrad-out)")
        p.add_argument("--save-arrays", action="store_true", help="also save the arrays as .npz")
        p.set_defaults(func=functools.partial(_command, method=method))

    return register


def _show(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def _slug(text) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def run_method(args, method) -> list[Path]:
    """Run ``method`` as the parsed ``args`` say; return the files written."""
    import models.images
    if args.backend:
        try:
            backends.get(args.backend)
        except backends.BackendUnavailable as exc:
            raise _user_error(str(exc)) from exc
    model = load_model(args.model, args.backend)
    params = {p.name: getattr(args, p.name) for p in method.params if getattr(args, p.name) is not None}
    if params.get("layer") is not None:
        try:
            model.resolve(params["layer"])
        except KeyError as exc:
            raise _user_error(_message(exc)) from exc
    if params.get("target") is not None:
        try:
            resolve_class(model, params["target"])
        except KeyError as exc:
            raise _user_error(_message(exc)) from exc
    inputs = [None]
    if method.needs_image:
        try:
            inputs = [(path, models.images.load_image(path)) for path in find_images(args.image)]
        except (FileNotFoundError, ValueError) as exc:
            raise _user_error(_message(exc)) from exc

    runner = method(model)
    stem = "_".join([method.name, _slug(Path(args.model).stem)]
                    + [f"{k}-{_slug(_show(v))}" for k, v in params.items() if k != "target"]
                    + ([f"class-{_slug(params['target'])}"] if "target" in params else []))
    written = []
    for item in tqdm(inputs, desc=method.name, unit="image", disable=None if len(inputs) > 1 else True):
        path, image = item if item is not None else (None, None)
        try:
            result = runner(image, seed=args.seed, source=path, **params)
        except (KeyError, ValueError) as exc:
            raise _user_error(_message(exc)) from exc
        name = stem if path is None else f"{stem}_{_slug(path.stem)}"
        files = result.save(Path(args.out) / name, arrays=args.save_arrays)
        caption = result.metadata.get("caption")
        print(f"wrote {', '.join(map(str, files))}" + (f"\n  {caption}" if caption else ""))
        written.extend(files)
    return written


def _command(args, method) -> int:
    run_method(args, method)
    return 0
